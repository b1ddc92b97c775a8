// The SPF evaluator's answer handlers for addresses, MX, PTR (the "ptr" mechanism and %{p})
// and exp=, plus the small helpers they share. See spf.cpp for the machine itself.
#include <string>

#include "dns/spf.hpp"
#include "macro.hpp"
#include "spf_frame.hpp"

namespace postern::dns {

using spf::Frame;

namespace spf {

Outcome classify(const Answer& a, Type type) {
    if (a.status == Status::temperror) return Outcome::error;
    if (a.status != Status::ok) return Outcome::empty;  // NXDOMAIN, NODATA, unusable name
    switch (type) {
        case Type::MX:
            return a.mx.empty() ? Outcome::empty : Outcome::records;
        case Type::PTR:
            return a.names.empty() ? Outcome::empty : Outcome::records;
        case Type::TXT:
            return a.txt.empty() ? Outcome::empty : Outcome::records;
        default:
            return a.addresses.empty() ? Outcome::empty : Outcome::records;
    }
}

bool any_address_in(const Answer& a, const IpAddress& client, unsigned cidr4, unsigned cidr6) {
    const unsigned prefix = client.is_v4() ? cidr4 : cidr6;
    for (const std::string& text : a.addresses) {
        const auto ip = IpAddress::parse(text);
        if (ip && client.in_network(*ip, prefix)) return true;
    }
    return false;
}

bool is_query_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c != '.') {
            if (++label > 63) return false;
        } else {
            if (label == 0) return false;
            label = 0;
        }
    }
    return label != 0;
}

bool is_same_or_subdomain(std::string_view name, std::string_view domain) {
    if (name.size() < domain.size()) return false;
    const std::size_t off = name.size() - domain.size();
    if (off != 0 && name[off - 1] != '.') return false;
    for (std::size_t i = 0; i < domain.size(); ++i) {
        char x = name[off + i], y = domain[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

}  // namespace spf

std::string_view to_string(SpfKind kind) {
    switch (kind) {
        case SpfKind::none:
            return "none";
        case SpfKind::neutral:
            return "neutral";
        case SpfKind::pass:
            return "pass";
        case SpfKind::fail:
            return "fail";
        case SpfKind::softfail:
            return "softfail";
        case SpfKind::temperror:
            return "temperror";
        case SpfKind::permerror:
            return "permerror";
    }
    return "none";
}

spf::MacroContext SpfEvaluation::macro_context(const Frame& f) const {
    spf::MacroContext ctx;
    const std::string_view all = storage_;
    const std::size_t sender_len = local_len_ + 1 + domain_len_;
    ctx.sender = all.substr(0, sender_len);
    ctx.local = all.substr(0, local_len_);
    ctx.sender_domain = all.substr(local_len_ + 1, domain_len_);
    ctx.domain = domain_of(f);
    ctx.helo = all.substr(sender_len, helo_len_);
    ctx.receiver = all.substr(sender_len + helo_len_);
    ctx.validated = validated_name(ctx.domain);
    ctx.ip = &ip_;
    ctx.now = now_;
    return ctx;
}

// ---- "a", "exists" (§5.3, §5.7) ----

void SpfEvaluation::on_address(const Answer& a, bool exists) {
    Frame& f = top();
    const spf::Term& t = term_of(f);
    switch (spf::classify(a, exists ? Type::A : address_type())) {
        case spf::Outcome::error:
            finish(SpfKind::temperror, "DNS error looking up " + question_.name);
            return;
        case spf::Outcome::empty:
            if (count_void()) no_match(f);
            return;
        case spf::Outcome::records:
            if (exists || spf::any_address_in(a, ip_, t.cidr4, t.cidr6)) {
                matched(f);
            } else {
                no_match(f);
            }
            return;
    }
}

// ---- "mx" (§5.4): more than mx_limit names is a permerror (§4.6.4) ----

void SpfEvaluation::on_mx(const Answer& a) {
    Frame& f = top();
    switch (spf::classify(a, Type::MX)) {
        case spf::Outcome::error:
            finish(SpfKind::temperror, "DNS error looking up MX of " + question_.name);
            return;
        case spf::Outcome::empty:
            if (count_void()) no_match(f);
            return;
        case spf::Outcome::records:
            break;
    }
    if (a.mx.size() > static_cast<std::size_t>(options_.mx_limit)) {
        finish(SpfKind::permerror, "more than " + std::to_string(options_.mx_limit) +
                                       " MX records for " + question_.name);
        return;
    }
    names_count_ = 0;
    for (const Mx& mx : a.mx) {
        std::string_view host = mx.host;
        if (!host.empty() && host.back() == '.') host.remove_suffix(1);
        if (host.empty()) continue;  // null MX (RFC 7505): no addresses
        if (names_count_ < names_.size()) {
            names_[names_count_].assign(host);
        } else {
            names_.emplace_back(host);
        }
        ++names_count_;
    }
    name_index_ = 0;
    next_mx_host();
}

void SpfEvaluation::next_mx_host() {
    while (name_index_ < names_count_ && !spf::is_query_name(names_[name_index_])) ++name_index_;
    if (name_index_ == names_count_) {
        no_match(top());
        return;
    }
    ask(names_[name_index_], address_type(), Op::mx_host);
}

void SpfEvaluation::on_mx_host(const Answer& a) {
    Frame& f = top();
    const spf::Term& t = term_of(f);
    const auto outcome = spf::classify(a, address_type());
    if (outcome == spf::Outcome::error) {
        finish(SpfKind::temperror, "DNS error looking up " + question_.name);
        return;
    }
    if (outcome == spf::Outcome::records && spf::any_address_in(a, ip_, t.cidr4, t.cidr6)) {
        matched(f);
        return;
    }
    ++name_index_;
    next_mx_host();
}

// ---- PTR names and their validation: "ptr" (§5.5) and %{p} (§7.3) ----

void SpfEvaluation::ask_ptr_names(bool for_term) {
    ptr_for_term_ = for_term;
    question_.name.clear();
    ip_.append_reverse_name(question_.name);
    question_.type = Type::PTR;
    op_ = Op::ptr_names;
    waiting_ = true;
}

void SpfEvaluation::on_ptr_names(const Answer& a) {
    ptr_names_.clear();
    ptr_valid_.clear();
    switch (spf::classify(a, Type::PTR)) {
        case spf::Outcome::error:  // "If a DNS error occurs ... this mechanism fails to match."
            ptr_state_ = PtrState::failed;
            break;
        case spf::Outcome::empty:
            ptr_state_ = PtrState::fetched;
            ptr_void_ = true;
            break;
        case spf::Outcome::records:
            ptr_state_ = PtrState::fetched;
            for (const std::string& name : a.names) {
                if (ptr_names_.size() == static_cast<std::size_t>(options_.ptr_limit)) break;
                std::string_view n = name;
                if (!n.empty() && n.back() == '.') n.remove_suffix(1);
                ptr_names_.emplace_back(n);
                ptr_valid_.push_back(spf::is_query_name(n) ? -1 : 0);
            }
            break;
    }
    if (ptr_for_term_ && ptr_void_) count_void();
}

void SpfEvaluation::on_ptr_address(const Answer& a) {
    const bool ok = spf::classify(a, address_type()) == spf::Outcome::records &&
                    spf::any_address_in(a, ip_, 32, 128);
    ptr_valid_[name_index_] = ok ? 1 : 0;  // a DNS error skips the name (§5.5)
}

// The rest of a "ptr" term once the names are known (target_ holds its target). Returns true
// when it did not match and step_terms() should go on with the next term.
bool SpfEvaluation::evaluate_ptr(Frame& f) {
    for (std::size_t i = 0; i < ptr_names_.size(); ++i) {
        if (!spf::is_same_or_subdomain(ptr_names_[i], target_)) continue;
        if (ptr_valid_[i] == 1) {
            matched(f);
            return false;
        }
        if (ptr_valid_[i] < 0) {
            name_index_ = i;
            ask(ptr_names_[i], address_type(), Op::ptr_address);
            return false;
        }
    }
    no_match(f);
    return true;
}

// True when every PTR name has been validated; otherwise asks the next question, and the step
// that called it runs again once the answer is in.
bool SpfEvaluation::have_validated_names() {
    if (ptr_state_ == PtrState::unknown) {
        ask_ptr_names(false);
        return false;
    }
    for (std::size_t i = 0; i < ptr_names_.size(); ++i) {
        if (ptr_valid_[i] >= 0) continue;
        name_index_ = i;
        ask(ptr_names_[i], address_type(), Op::ptr_address);
        return false;
    }
    return true;
}

// §7.3: the <domain> itself if validated, else a validated subdomain of it, else any validated
// name; "" (expanded as "unknown") when there is none.
std::string_view SpfEvaluation::validated_name(std::string_view domain) const {
    std::string_view sub, any;
    for (std::size_t i = 0; i < ptr_names_.size(); ++i) {
        if (ptr_valid_[i] != 1) continue;
        const std::string_view n = ptr_names_[i];
        if (spf::is_same_or_subdomain(n, domain)) {
            if (n.size() == domain.size()) return n;
            if (sub.empty()) sub = n;
        }
        if (any.empty()) any = n;
    }
    return sub.empty() ? any : sub;
}

// ---- exp= (§6.2): fetched only for a final fail; any problem falls back to the default ----

void SpfEvaluation::explain(Frame& f) {
    if (f.step == Frame::Step::explain_lookup) {
        if (f.mods.has_exp) {
            if (f.mods.exp_needs_validated_name && !have_validated_names()) return;
            spf::expand_domain_spec(f.mods.exp.in(record_of(f)), macro_context(f), target_);
            if (spf::is_query_name(target_)) {
                ask(target_, Type::TXT, Op::exp);
                return;
            }
        }
        f.step = Frame::Step::explain_default;
        return;
    }
    const bool own = f.step == Frame::Step::explain_text;
    const std::string_view text = own ? std::string_view(exp_text_) : options_.default_explanation;
    spf::MacroInfo info;
    if (!spf::check_macro_string(text, spf::MacroUse::explanation, &info)) {
        if (own) {
            f.step = Frame::Step::explain_default;
        } else {
            result_.explanation.clear();
            finish(SpfKind::fail);
        }
        return;
    }
    if (info.needs_validated_name && !have_validated_names()) return;
    result_.explanation.clear();
    spf::expand_macro_string(text, spf::MacroUse::explanation, macro_context(f),
                             result_.explanation);
    finish(SpfKind::fail);
}

void SpfEvaluation::on_exp(const Answer& a) {
    Frame& f = top();
    // Exactly one TXT record, or proceed as if there were no exp= (§6.2).
    if (a.status == Status::ok && a.txt.size() == 1) {
        exp_text_ = a.txt.front();
        f.step = Frame::Step::explain_text;
    } else {
        f.step = Frame::Step::explain_default;
    }
}

SpfResult evaluate_spf(const std::function<Answer(const Question&)>& resolve,
                       const SpfRequest& request, const SpfOptions& options) {
    SpfEvaluation e(request, options);
    while (const Question* q = e.next()) e.answer(resolve(*q));
    return e.result();
}

}  // namespace postern::dns

// The check_host() state machine (RFC 7208). run() advances the innermost frame until a
// question is pending or the result is known; each on_*() handler (here and in
// spf_lookups.cpp) consumes the answer to the question asked with the matching Op. Errors
// (temperror, permerror) end the whole evaluation at once: include and redirect pass them up
// unchanged (§5.2, §6.1), so no frame ever has to undo one.
#include "dns/spf.hpp"

#include <cstdlib>

#include "macro.hpp"
#include "spf_frame.hpp"

namespace postern::dns {

using spf::Frame;
using spf::Mechanism;
using spf::Term;

SpfEvaluation::SpfEvaluation(const SpfRequest& request, const SpfOptions& options)
    : ip_(request.client.unmapped()), now_(request.now), options_(options) {
    // §4.3: the identity is MAIL FROM, or postmaster@HELO for the null reverse-path; a missing
    // local part is "postmaster". One buffer holds "local@domain", the HELO and the receiver.
    const std::string_view sender = request.sender;
    std::string_view local, domain;
    if (sender.empty()) {
        domain = request.helo;
    } else if (const auto at = sender.rfind('@'); at != std::string_view::npos) {
        local = sender.substr(0, at);
        domain = sender.substr(at + 1);
    } else {
        domain = sender;
    }
    if (local.empty()) local = "postmaster";
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    storage_.reserve(local.size() + 1 + domain.size() + request.helo.size() +
                     request.receiver.size());
    storage_.append(local).append("@").append(domain);
    storage_.append(request.helo).append(request.receiver);
    local_len_ = static_cast<std::uint32_t>(local.size());
    domain_len_ = static_cast<std::uint32_t>(domain.size());
    helo_len_ = static_cast<std::uint32_t>(request.helo.size());
    const std::string_view checked = sender_domain();
    result_.domain = checked;

    // §4.3: a malformed or single-label domain (or an address literal) is "none", unasked.
    if (!spf::is_query_name(checked) || checked.find('.') == std::string_view::npos ||
        checked.front() == '[') {
        finish(SpfKind::none, "not a valid domain name: " + result_.domain);
        return;
    }
    frames_.reserve(4);
    text_.reserve(512);
    terms_.reserve(32);
    target_.reserve(64);
    question_.name.reserve(64);
    push_frame(sender_domain(), false);
    run();
}

SpfEvaluation::~SpfEvaluation() = default;
SpfEvaluation::SpfEvaluation(SpfEvaluation&&) noexcept = default;
SpfEvaluation& SpfEvaluation::operator=(SpfEvaluation&&) noexcept = default;

void SpfEvaluation::answer(const Answer& a) {
    if (!waiting_) return;
    waiting_ = false;
    switch (op_) {
        case Op::record:
            on_record(a);
            break;
        case Op::address:
            on_address(a, false);
            break;
        case Op::exists:
            on_address(a, true);
            break;
        case Op::mx:
            on_mx(a);
            break;
        case Op::mx_host:
            on_mx_host(a);
            break;
        case Op::ptr_names:
            on_ptr_names(a);
            break;
        case Op::ptr_address:
            on_ptr_address(a);
            break;
        case Op::exp:
            on_exp(a);
            break;
    }
    run();
}

void SpfEvaluation::run() {
    while (!waiting_ && depth_ > 0) {
        Frame& f = top();
        switch (f.step) {
            case Frame::Step::fetch:
                ask(domain_of(f), Type::TXT, Op::record);
                break;
            case Frame::Step::terms:
                step_terms(f);
                break;
            case Frame::Step::explain_lookup:
            case Frame::Step::explain_text:
            case Frame::Step::explain_default:
                explain(f);
                break;
            case Frame::Step::include:
                // An including frame is never innermost: frame_result() pops the included
                // frame and moves this one back to `terms` in the same step.
                std::abort();
        }
    }
}

Frame& SpfEvaluation::top() { return frames_[depth_ - 1]; }

std::string_view SpfEvaluation::sender_domain() const {
    return std::string_view(storage_).substr(local_len_ + 1, domain_len_);
}

std::string_view SpfEvaluation::domain_of(const Frame& f) const {
    return std::string_view(text_).substr(f.text_begin, f.domain_len);
}

std::string_view SpfEvaluation::record_of(const Frame& f) const {
    return std::string_view(text_).substr(f.text_begin + f.domain_len, f.record_len);
}

const Term& SpfEvaluation::term_of(const Frame& f) const { return terms_[f.term_begin + f.next]; }

void SpfEvaluation::push_frame(std::string_view domain, bool redirected) {
    if (depth_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[depth_++];
    f.text_begin = static_cast<std::uint32_t>(text_.size());
    f.term_begin = static_cast<std::uint32_t>(terms_.size());
    reset_frame(f, domain, redirected);
}

// `f` is the innermost frame, so its text and terms end the buffers. `domain` must not point
// into text_.
void SpfEvaluation::reset_frame(Frame& f, std::string_view domain, bool redirected) {
    text_.resize(f.text_begin);
    text_.append(domain);
    terms_.resize(f.term_begin);
    f.domain_len = static_cast<std::uint32_t>(domain.size());
    f.record_len = 0;
    f.term_end = f.term_begin;
    f.mods = spf::Modifiers{};
    f.next = 0;
    f.step = Frame::Step::fetch;
    f.redirected = redirected;
    f.in_progress = false;
}

void SpfEvaluation::ask(std::string_view name, Type type, Op op) {
    question_.name.assign(name);
    question_.type = type;
    op_ = op;
    waiting_ = true;
}

void SpfEvaluation::finish(SpfKind kind, std::string problem) {
    result_.kind = kind;
    result_.problem = std::move(problem);
    if (kind != SpfKind::fail) result_.explanation.clear();
    if (kind != SpfKind::pass && kind != SpfKind::fail && kind != SpfKind::softfail &&
        kind != SpfKind::neutral)
        result_.mechanism.clear();
    depth_ = 0;
    waiting_ = false;
}

bool SpfEvaluation::count_lookup() {
    if (++lookups_ <= options_.lookup_limit) return true;
    finish(SpfKind::permerror, "more than " + std::to_string(options_.lookup_limit) +
                                   " DNS-querying terms (RFC 7208 4.6.4)");
    return false;
}

bool SpfEvaluation::count_void() {
    if (++voids_ <= options_.void_limit) return true;
    finish(SpfKind::permerror,
           "more than " + std::to_string(options_.void_limit) + " void lookups (RFC 7208 4.6.4)");
    return false;
}

// ---- record selection (§4.4, §4.5) ----

void SpfEvaluation::on_record(const Answer& a) {
    Frame& f = top();
    if (a.status == Status::temperror) {
        finish(SpfKind::temperror,
               "DNS error fetching the SPF record of " + std::string(domain_of(f)));
        return;
    }
    const std::string* found = nullptr;
    int count = 0;
    if (a.status == Status::ok) {
        for (const std::string& txt : a.txt) {
            if (!spf::is_spf_record(txt)) continue;
            if (count++ == 0) found = &txt;
        }
    }
    if (count > 1) {
        finish(SpfKind::permerror, "more than one SPF record at " + std::string(domain_of(f)));
        return;
    }
    if (count == 0) {
        no_record();
        return;
    }
    text_.resize(f.text_begin + f.domain_len);
    text_.append(*found);
    f.record_len = static_cast<std::uint32_t>(found->size());
    terms_.resize(f.term_begin);
    spf::ParseError e;
    const bool parsed = spf::parse_record(record_of(f), terms_, f.mods, e);
    f.term_end = static_cast<std::uint32_t>(terms_.size());
    if (!parsed) {
        finish(SpfKind::permerror, "SPF record of " + std::string(domain_of(f)) + ": " + e.what +
                                       ": \"" + std::string(e.where.in(record_of(f))) + "\"");
        return;
    }
    f.step = Frame::Step::terms;
}

void SpfEvaluation::no_record() {
    const Frame& f = top();
    if (depth_ == 1 && !f.redirected) {
        finish(SpfKind::none, "no SPF record at " + std::string(domain_of(f)));
        return;
    }
    // §5.2: include of a domain without a record; §6.1: redirect to one. Both permerror.
    finish(SpfKind::permerror, std::string(depth_ > 1 ? "include" : "redirect") + " target " +
                                   std::string(domain_of(f)) + " has no SPF record");
}

// ---- terms (§4.6.2, §5) ----

void SpfEvaluation::step_terms(Frame& f) {
    while (f.term_begin + f.next < f.term_end) {
        const Term& t = term_of(f);
        switch (t.mechanism) {
            case Mechanism::all:
                matched(f);
                return;
            case Mechanism::ip4:
            case Mechanism::ip6:
                if (ip_.in_network(t.network, t.mechanism == Mechanism::ip4 ? t.cidr4 : t.cidr6)) {
                    matched(f);
                    return;
                }
                ++f.next;
                continue;
            default:
                if (!f.in_progress && !start_term(f)) return;
                // Here either the term ended without a question (malformed target), or it is
                // a "ptr" whose names are known: evaluate_ptr() asks, matches or moves on.
                if (f.in_progress && !evaluate_ptr(f)) return;
                continue;
        }
    }
    // No mechanism matched: redirect= if there is one (§6.1), else neutral (§4.7).
    if (!f.mods.has_redirect) {
        if (depth_ == 1) result_.mechanism = "default";
        frame_result(SpfKind::neutral);
        return;
    }
    if (f.mods.redirect_needs_validated_name && !have_validated_names()) return;
    if (!count_lookup()) return;
    spf::expand_domain_spec(f.mods.redirect.in(record_of(f)), macro_context(f), target_);
    if (!spf::is_query_name(target_)) {
        finish(SpfKind::permerror, "redirect= to a malformed name: " + target_);
        return;
    }
    reset_frame(f, target_, true);  // the target's record replaces this one, exp= with it
}

// Counts the term, expands its target and asks its first question (or pushes the include).
// Returns true when step_terms() may go on at once: the target was malformed (the term did not
// match), or the term is a "ptr" whose PTR names are already known.
bool SpfEvaluation::start_term(Frame& f) {
    const Term& t = term_of(f);
    if (t.needs_validated_name && !have_validated_names()) return false;
    if (!count_lookup()) return false;
    if (t.has_spec) {
        spf::expand_domain_spec(t.spec.in(record_of(f)), macro_context(f), target_);
    } else {
        target_.assign(domain_of(f));
    }
    // A name DNS cannot carry (an empty or over-long label) does not exist (4.3/1, 5/10): the
    // term does not match; an include of it is an include of a domain without a record.
    if (!spf::is_query_name(target_)) {
        if (t.mechanism == Mechanism::include) {
            finish(SpfKind::permerror, "include of a malformed name: " + target_);
            return false;
        }
        if (!count_void()) return false;
        ++f.next;
        return true;
    }
    f.in_progress = true;
    switch (t.mechanism) {
        case Mechanism::a:
            ask(target_, address_type(), Op::address);
            return false;
        case Mechanism::exists:
            ask(target_, Type::A, Op::exists);
            return false;
        case Mechanism::mx:
            ask(target_, Type::MX, Op::mx);
            return false;
        case Mechanism::include:
            f.step = Frame::Step::include;
            push_frame(target_, false);  // may move the frames: `f` and `t` are not used again
            return false;
        case Mechanism::ptr:
            if (ptr_state_ == PtrState::unknown) {
                ask_ptr_names(true);
                return false;
            }
            return !ptr_void_ || count_void();
        default:
            return false;
    }
}

void SpfEvaluation::matched(Frame& f) {
    const Term& t = term_of(f);
    if (depth_ == 1) result_.mechanism.assign(t.text.in(record_of(f)));
    frame_result(t.qualifier);
}

void SpfEvaluation::no_match(Frame& f) {
    f.in_progress = false;
    ++f.next;
}

// The innermost frame ended with pass, fail, softfail or neutral.
void SpfEvaluation::frame_result(SpfKind kind) {
    if (depth_ == 1) {
        if (kind == SpfKind::fail) {
            top().step = Frame::Step::explain_lookup;
            return;
        }
        finish(kind);
        return;
    }
    // §5.2: only a pass of the included record is a match of the include.
    const Frame& child = top();
    text_.resize(child.text_begin);
    terms_.resize(child.term_begin);
    --depth_;
    Frame& parent = top();
    parent.step = Frame::Step::terms;
    if (kind == SpfKind::pass) {
        matched(parent);
    } else {
        no_match(parent);
    }
}

}  // namespace postern::dns

// DomainCheck: looks up what a hosted domain publishes and compares it with what it should.
#include <algorithm>
#include <optional>

#include "dns/dmarc.hpp"
#include "dns/ip.hpp"
#include "dns/onboarding.hpp"
#include "dns/spf.hpp"

namespace postern::dns {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string strip_dot(std::string_view s) {
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
    return lower(s);
}

bool is_spf(std::string_view txt) {
    std::string l = lower(txt.substr(0, 7));
    return l == "v=spf1" || l == "v=spf1 ";
}

// The value of tag `name` in a tag=value list (DKIM key records), whitespace removed.
std::optional<std::string> tag(std::string_view record, std::string_view name) {
    std::size_t i = 0;
    while (i < record.size()) {
        std::size_t end = record.find(';', i);
        if (end == std::string_view::npos) end = record.size();
        std::string_view item = record.substr(i, end - i);
        auto eq = item.find('=');
        if (eq != std::string_view::npos) {
            std::string key;
            for (char c : item.substr(0, eq))
                if (c != ' ' && c != '\t') key += c;
            if (key == name) {
                std::string value;
                for (char c : item.substr(eq + 1))
                    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') value += c;
                return value;
            }
        }
        i = end + 1;
    }
    return std::nullopt;
}

CheckStatus absent_or_error(const Answer& a) {
    return a.status == Status::temperror || a.status == Status::permerror ? CheckStatus::error
                                                                          : CheckStatus::missing;
}

}  // namespace

struct DomainCheck::State {
    DomainSetup setup;
    std::vector<ExpectedRecord> expected;
    std::vector<RecordCheck> results;
    std::size_t index = 0;  // the expected record being looked up
    enum class Phase { records, spf_address, spf_eval, done } phase = Phase::records;
    std::size_t spf_result = 0;  // index in results of the SPF record
    bool spf_single = false;
    Question question;
    std::optional<SpfEvaluation> spf;
    std::optional<IpAddress> address;
    bool tried_aaaa = false;

    void ask_current() {
        if (phase == Phase::records) {
            const auto& e = expected[index];
            question = Question{e.name, e.type};
        }
    }

    void judge(const Answer& a) {
        const ExpectedRecord& e = expected[index];
        RecordCheck r{e, CheckStatus::ok, {}, ""};
        if (a.status != Status::ok) {
            r.status = absent_or_error(a);
            if (r.status == CheckStatus::error)
                r.hint = "the lookup failed; try again later";
        }
        switch (e.kind) {
            case RecordKind::mx: {
                bool ours = false;
                for (const auto& mx : a.mx) {
                    r.observed.push_back(std::to_string(mx.preference) + " " +
                                         (mx.host.empty() ? "." : mx.host));
                    ours = ours || strip_dot(mx.host) == strip_dot(setup.mx_host);
                }
                if (a.status == Status::ok && !ours) r.status = CheckStatus::mismatch;
                if (r.status != CheckStatus::ok && r.hint.empty())
                    r.hint = "publish an MX record for " + e.name + " pointing at " +
                             setup.mx_host;
                break;
            }
            case RecordKind::spf: {
                int count = 0;
                for (const auto& t : a.txt)
                    if (is_spf(t)) {
                        r.observed.push_back(t);
                        ++count;
                    }
                if (a.status == Status::ok && count == 0) r.status = CheckStatus::missing;
                if (count > 1) {
                    r.status = CheckStatus::mismatch;
                    r.hint = "publish exactly one SPF record (RFC 7208 §4.5): merge them";
                }
                if (r.status == CheckStatus::missing)
                    r.hint = "publish TXT \"" + e.value + "\" at " + e.name;
                spf_single = count == 1;
                spf_result = results.size();
                break;
            }
            case RecordKind::dkim: {
                std::optional<std::string> published;
                std::string published_k;
                for (const auto& t : a.txt) {
                    r.observed.push_back(t);
                    if (!published && (published = tag(t, "p")))
                        published_k = tag(t, "k").value_or("rsa");
                }
                if (a.status == Status::ok &&
                    (published != tag(e.value, "p") ||
                     published_k != tag(e.value, "k").value_or("rsa")))
                    r.status = CheckStatus::mismatch;
                if (r.status == CheckStatus::mismatch)
                    r.hint = "the published key differs: publish TXT \"" + e.value + "\" at " +
                             e.name;
                else if (r.status == CheckStatus::missing)
                    r.hint = "publish TXT \"" + e.value + "\" at " + e.name;
                break;
            }
            case RecordKind::dmarc: {
                int count = 0;
                bool valid = false;
                for (const auto& t : a.txt)
                    if (is_dmarc_record(t)) {
                        r.observed.push_back(t);
                        ++count;
                        valid = parse_dmarc(t).has_value();
                    }
                if (a.status == Status::ok && count == 0) r.status = CheckStatus::missing;
                if (count > 1 || (count == 1 && !valid)) {
                    r.status = CheckStatus::mismatch;
                    r.hint = count > 1 ? "publish exactly one DMARC record"
                                       : "the DMARC record does not parse; publish TXT \"" +
                                             e.value + "\" at " + e.name;
                }
                if (r.status == CheckStatus::missing)
                    r.hint = "publish TXT \"" + e.value + "\" at " + e.name;
                break;
            }
            case RecordKind::ownership: {
                r.observed = a.txt;
                bool found = std::find(a.txt.begin(), a.txt.end(), e.value) != a.txt.end();
                if (a.status == Status::ok && !found)
                    r.status = a.txt.empty() ? CheckStatus::missing : CheckStatus::mismatch;
                if (r.status != CheckStatus::ok && r.status != CheckStatus::error)
                    r.hint = "publish TXT \"" + e.value + "\" at " + e.name;
                break;
            }
        }
        results.push_back(std::move(r));
    }

    void after_records() {
        if (spf_single && results[spf_result].status == CheckStatus::ok) {
            phase = Phase::spf_address;
            question = Question{setup.mx_host, Type::A};
        } else {
            phase = Phase::done;
        }
    }

    void start_spf(const Answer& a) {
        RecordCheck& r = results[spf_result];
        if (a.status == Status::ok && !a.addresses.empty())
            address = IpAddress::parse(a.addresses.front());
        if (!address && !tried_aaaa && a.status != Status::temperror) {
            tried_aaaa = true;
            question = Question{setup.mx_host, Type::AAAA};
            return;
        }
        if (!address) {
            r.status = CheckStatus::error;
            r.hint = "cannot check SPF: " + setup.mx_host + " has no address";
            phase = Phase::done;
            return;
        }
        phase = Phase::spf_eval;
        sender = "postmaster@" + setup.domain;
        spf.emplace(SpfRequest{*address, sender, setup.mx_host, setup.mx_host, 0});
        finish_spf_if_done();
    }

    void finish_spf_if_done() {
        if (!spf->done()) return;
        RecordCheck& r = results[spf_result];
        const SpfResult& res = spf->result();
        if (res.kind == SpfKind::temperror) {
            r.status = CheckStatus::error;
            r.hint = "SPF evaluation hit a DNS error: " + res.problem;
        } else if (res.kind != SpfKind::pass) {
            r.status = CheckStatus::mismatch;
            r.hint = "the SPF record gives " + std::string(to_string(res.kind)) + " for " +
                     setup.mx_host + " (" + address->to_string() + "); add \"mx\" to it" +
                     (res.problem.empty() ? "" : " (" + res.problem + ")");
        }
        phase = Phase::done;
    }

    std::string sender;
};

DomainCheck::DomainCheck(DomainSetup setup) : state_(std::make_unique<State>()) {
    state_->setup = std::move(setup);
    state_->expected = expected_records(state_->setup);
    state_->ask_current();
}

DomainCheck::~DomainCheck() = default;
DomainCheck::DomainCheck(DomainCheck&&) noexcept = default;
DomainCheck& DomainCheck::operator=(DomainCheck&&) noexcept = default;

const Question* DomainCheck::next() const {
    switch (state_->phase) {
        case State::Phase::records:
        case State::Phase::spf_address: return &state_->question;
        case State::Phase::spf_eval: return state_->spf->next();
        case State::Phase::done: return nullptr;
    }
    return nullptr;
}

void DomainCheck::answer(const Answer& a) {
    State& s = *state_;
    switch (s.phase) {
        case State::Phase::records:
            s.judge(a);
            if (++s.index < s.expected.size()) s.ask_current();
            else s.after_records();
            break;
        case State::Phase::spf_address: s.start_spf(a); break;
        case State::Phase::spf_eval:
            s.spf->answer(a);
            s.finish_spf_if_done();
            break;
        case State::Phase::done: break;
    }
}

const std::vector<RecordCheck>& DomainCheck::results() const { return state_->results; }

}  // namespace postern::dns

// DkimVerification: splits the header section into fields for libopendkim, decides from the
// parsed signatures which keys to ask for, and once the answers are in runs dkim_eom(), whose
// key-lookup callback (serve_key) hands libopendkim the records we were given.
#include "dns/dkim_verify.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "dkim_verify_internal.hpp"

namespace postern::dns {

std::string_view to_string(DkimStatus status) {
    switch (status) {
        case DkimStatus::none:
            return "none";
        case DkimStatus::pass:
            return "pass";
        case DkimStatus::fail:
            return "fail";
        case DkimStatus::policy:
            return "policy";
        case DkimStatus::neutral:
            return "neutral";
        case DkimStatus::temperror:
            return "temperror";
        case DkimStatus::permerror:
            return "permerror";
    }
    return "none";
}

namespace dkim {
namespace {

bool is_dkim_signature(std::string_view field) {
    constexpr std::string_view kName = "dkim-signature";
    if (field.size() <= kName.size()) return false;
    for (std::size_t i = 0; i < kName.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(field[i])) != kName[i]) return false;
    std::size_t i = kName.size();
    while (i < field.size() && (field[i] == ' ' || field[i] == '\t')) ++i;
    return i < field.size() && field[i] == ':';
}

// Calls on_field(text) for each header field (folded lines included, final CRLF excluded) and
// returns the offset of the body: just past the empty line, or the end when there is none.
template <class OnField>
std::size_t for_each_field(std::string_view m, OnField&& on_field) {
    constexpr auto npos = std::string_view::npos;
    std::size_t pos = 0, start = npos, end = 0;
    auto flush = [&] {
        if (start != npos) on_field(m.substr(start, end - start));
        start = npos;
    };
    while (pos < m.size()) {
        const std::size_t lf = m.find('\n', pos);
        const std::size_t next = lf == npos ? m.size() : lf + 1;
        std::size_t stop = lf == npos ? m.size() : lf;
        if (stop > pos && m[stop - 1] == '\r') --stop;
        if (stop == pos) {  // the empty line
            flush();
            return next;
        }
        if ((m[pos] != ' ' && m[pos] != '\t') || start == npos) {
            flush();
            start = pos;
        }
        end = stop;
        pos = next;
    }
    flush();
    return m.size();
}

// A signature tag's value with all whitespace removed; "" when absent.
std::string tag(DKIM_SIGINFO* info, const char* name) {
    u_char key[8] = {};
    std::strncpy(reinterpret_cast<char*>(key), name, sizeof key - 1);
    const u_char* v = dkim_sig_gettagvalue(info, false, key);
    std::string out;
    if (v == nullptr) return out;
    for (const u_char* p = v; *p != '\0'; ++p)
        if (!std::isspace(*p)) out += static_cast<char>(*p);
    return out;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "<s>._domainkey.<d>" in lowercase A-labels; nullopt when it cannot be a DNS name. Selectors
// are sub-domains (§3.1) but underscores occur in the wild, so they are let through.
std::optional<std::string> key_name(std::string_view selector, std::string_view domain) {
    auto part = [](std::string_view s) -> std::optional<std::string> {
        if (std::any_of(s.begin(), s.end(), [](char c) { return c & 0x80; })) {
            auto a = normalize_domain(s);
            if (!a) return std::nullopt;
            return *a;
        }
        return lower(std::string(s));
    };
    auto s = part(selector), d = part(domain);
    if (!s || !d) return std::nullopt;
    std::string name = *s + "._domainkey." + *d;
    if (name.size() > 253) return std::nullopt;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
            if (++label > 63) return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    return label == 0 ? std::nullopt : std::optional<std::string>(std::move(name));
}

void decide(Sig& sig, DkimStatus status, std::string reason) {
    sig.decided = true;
    sig.result.status = status;
    sig.result.reason = std::move(reason);
}

// The i= tag dkim-quoted-printable decoded (RFC 6376 §2.11: "=" and two hex digits stand for an
// octet; tag() dropped the whitespace). Not libopendkim's dkim_sig_getidentity(): after an "="
// without two hex digits it wrote bytes that changed from one call to the next (found by
// fuzzing). nullopt when there is no i=, or it is malformed or decodes to anything but printable
// UTF-8 with an '@'; the caller then reports "@" + d=, as for a signature without i=.
std::optional<std::string> identity_of(std::string_view qp) {
    if (qp.empty()) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < qp.size(); ++i) {
        if (qp[i] != '=') {
            out += qp[i];
            continue;
        }
        if (qp.size() - i < 3 || !std::isxdigit(static_cast<unsigned char>(qp[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(qp[i + 2])))
            return std::nullopt;
        unsigned value = 0;
        std::from_chars(qp.data() + i + 1, qp.data() + i + 3, value, 16);
        out += static_cast<char>(value);
        i += 2;
    }
    if (!is_valid_utf8(out) || has_control(out) || out.find('@') == std::string::npos)
        return std::nullopt;
    return out;
}

// Fills in what the header says and decides what needs no key: errors libopendkim found in
// dkim_eoh(), our own x=/t= checks at `now`, rsa-sha1, an impossible key name, the cap.
Sig examine(State& s, DKIM_SIGINFO* info, std::size_t& verified) {
    Sig sig;
    sig.info = info;
    DkimResult& r = sig.result;
    r.domain = tag(info, "d");
    r.selector = tag(info, "s");
    r.algorithm = lower(tag(info, "a"));
    sig.b = tag(info, "b");
    if (std::string l = tag(info, "l"); !l.empty()) r.body_length = to_u64(l);
    if (auto identity = identity_of(tag(info, "i")))
        r.identity = std::move(*identity);
    else if (!r.domain.empty())
        r.identity = "@" + r.domain;

    if (int error = dkim_sig_geterror(info); error != DKIM_SIGERROR_UNKNOWN) {
        std::string reason(describe(error));
        if (error == DKIM_SIGERROR_EXPIRED) reason += ": x=" + tag(info, "x");
        if (error == DKIM_SIGERROR_FUTURE) reason += ": t=" + tag(info, "t");
        decide(sig, DkimStatus::permerror, std::move(reason));
        return sig;
    }
    const auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(s.now, 0));
    constexpr auto drift = static_cast<std::uint64_t>(kClockDrift);
    if (auto x = to_u64(tag(info, "x"));
        x && *x <= std::numeric_limits<std::uint64_t>::max() - drift && now >= *x + drift) {
        decide(sig, DkimStatus::permerror, "signature expired: x=" + std::to_string(*x));
        return sig;
    }
    if (auto t = to_u64(tag(info, "t")); t && now + drift < *t) {
        decide(sig, DkimStatus::permerror,
               "signature is dated in the future: t=" + std::to_string(*t));
        return sig;
    }
    if (r.algorithm == "rsa-sha1") {
        decide(sig, DkimStatus::permerror, "rsa-sha1 is historic and not accepted (RFC 8301)");
        return sig;
    }
    auto name = key_name(r.selector, r.domain);
    if (!name) {
        decide(sig, DkimStatus::permerror, "s= and d= do not form a valid key name");
        return sig;
    }
    if (++verified > s.options.max_signatures) {
        decide(sig, DkimStatus::policy,
               "too many signatures: only the first " + std::to_string(s.options.max_signatures) +
                   " are verified");
        return sig;
    }
    Question q{std::move(*name), Type::TXT};
    auto it = std::find(s.questions.begin(), s.questions.end(), q);
    sig.question = static_cast<std::size_t>(it - s.questions.begin());
    if (it == s.questions.end()) s.questions.push_back(std::move(q));
    return sig;
}

void start(State& s, std::string_view message) {
    if (s.library.lib == nullptr) {
        s.failure = "libopendkim could not be initialised";
        return;
    }
    DKIM_STAT status = DKIM_STAT_OK;
    s.handle.reset(
        dkim_verify(s.library.lib, reinterpret_cast<const u_char*>("postern"), nullptr, &status));
    if (!s.handle) {
        s.failure = "libopendkim: " + std::string(dkim_getresultstr(status));
        return;
    }
    dkim_set_user_context(s.handle.get(), &s);

    // libopendkim copies each field and reads the body without keeping it, and its u_char*
    // parameters are never written through, so the message is not copied here.
    DKIM* h = s.handle.get();
    const std::size_t body = for_each_field(message, [h](std::string_view field) {
        // A field it refuses (no colon, bad name) is left out, as a verifier must.
        (void)dkim_header(h, reinterpret_cast<u_char*>(const_cast<char*>(field.data())),
                          field.size());
    });
    if (dkim_eoh(h) == DKIM_STAT_NOSIG) return;

    DKIM_SIGINFO** list = nullptr;
    int count = 0;
    if (dkim_getsiglist(h, &list, &count) != DKIM_STAT_OK || list == nullptr) return;
    std::size_t verified = 0;
    bool pending = false;
    s.sigs.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        s.sigs.push_back(examine(s, list[i], verified));
        if (s.sigs.back().decided)
            dkim_sig_ignore(list[i]);
        else
            pending = true;
    }
    s.answers.resize(s.questions.size());
    if (pending && body < message.size())
        (void)dkim_body(h, reinterpret_cast<u_char*>(const_cast<char*>(message.data() + body)),
                        message.size() - body);
}

// Decides a signature from the DNS answer for its key, or prepares the record to serve.
void take_answer(State& s, Sig& sig) {
    const std::string& name = s.questions[sig.question].name;
    const std::optional<Answer>& a = s.answers[sig.question];
    if (!a) return decide(sig, DkimStatus::temperror, "key lookup not answered: " + name);
    switch (a->status) {
        case Status::temperror:
            return decide(sig, DkimStatus::temperror, "DNS temporary failure: " + name);
        case Status::permerror:
            return decide(sig, DkimStatus::permerror, "DNS error: " + name);
        case Status::nxdomain:
            return decide(sig, DkimStatus::permerror, "no key record: " + name + " (NXDOMAIN)");
        case Status::nodata:
        case Status::ok:
            break;
    }
    const std::string* record = select_key_record(a->txt);
    if (record == nullptr)
        return decide(sig, DkimStatus::permerror, "no key record: no TXT at " + name);
    dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
    (void)dkim_sig_getsignalg(sig.info, &algorithm);
    PreparedKey key = prepare_key(*record, algorithm);
    if (!key.problem.empty()) return decide(sig, DkimStatus::permerror, std::move(key.problem));
    sig.key_record = std::move(key.record);
    if (key.converted) sig.result.reason = "key given as a raw PKCS#1 RSAPublicKey";
}

// header.b (RFC 6008 §4): at least 8 characters, more while another signature shares them.
std::string header_b(const std::vector<Sig>& sigs, std::size_t i) {
    const std::string& b = sigs[i].b;
    std::size_t n = std::min<std::size_t>(8, b.size());
    for (std::size_t j = 0; j < sigs.size(); ++j) {
        const std::string& o = sigs[j].b;
        if (j == i || o == b) continue;  // an identical b= cannot be told apart anyway
        auto [mine, theirs] = std::mismatch(b.begin(), b.end(), o.begin(), o.end());
        n = std::max(n, std::min(b.size(), static_cast<std::size_t>(mine - b.begin()) + 1));
    }
    return b.substr(0, n);
}

void finish(State& s) {
    bool pending = false;
    for (Sig& sig : s.sigs) {
        if (sig.decided) continue;
        take_answer(s, sig);
        if (sig.decided)
            dkim_sig_ignore(sig.info);
        else
            pending = true;
    }
    if (pending) (void)dkim_eom(s.handle.get(), nullptr);
    s.results.reserve(s.sigs.size());
    for (std::size_t i = 0; i < s.sigs.size(); ++i) {
        Sig& sig = s.sigs[i];
        if (!sig.decided) {
            std::string note = std::move(sig.result.reason);
            classify(sig.info, sig.result);
            if (sig.result.status == DkimStatus::pass && sig.result.reason.empty())
                sig.result.reason = std::move(note);
        }
        sig.result.header_b = header_b(s.sigs, i);
        s.results.push_back(std::move(sig.result));
    }
    // Nothing more is asked of libopendkim: free its memory now, not with the verification.
    s.sigs.clear();
    s.handle.reset();
    s.library = Library{};
    s.finished = true;
}

}  // namespace

DKIM_CBSTAT serve_key(State& s, DKIM_SIGINFO* info, unsigned char* buf, std::size_t buflen) {
    for (Sig& sig : s.sigs) {
        if (sig.info != info) continue;
        if (sig.decided || sig.key_record.empty()) return DKIM_CBSTAT_NOTFOUND;
        if (sig.key_record.size() >= buflen) {
            if (auto compact = compact_key_record(sig.key_record))
                if (compact->size() < buflen) sig.key_record = std::move(*compact);
        }
        if (sig.key_record.size() >= buflen) {
            decide(sig, DkimStatus::permerror,
                   "key record is " + std::to_string(sig.key_record.size()) +
                       " bytes; libopendkim reads at most " + std::to_string(buflen - 1));
            return DKIM_CBSTAT_NOTFOUND;
        }
        std::memcpy(buf, sig.key_record.data(), sig.key_record.size());
        buf[sig.key_record.size()] = '\0';
        return DKIM_CBSTAT_CONTINUE;
    }
    return DKIM_CBSTAT_NOTFOUND;
}

}  // namespace dkim

DkimVerification::DkimVerification(std::string_view message, const DkimVerifyOptions& options)
    : state_(std::make_unique<dkim::State>()) {
    dkim::State& s = *state_;
    s.options = options;
    const auto wall_clock = static_cast<std::int64_t>(std::time(nullptr));
    s.now = options.now.value_or(wall_clock);
    s.library = dkim::library_for(s.now, wall_clock);
    dkim::start(s, message);
    if (!s.failure.empty()) {
        // Without libopendkim, still say that the message was signed: temperror per field.
        dkim::for_each_field(message, [&s](std::string_view field) {
            if (!dkim::is_dkim_signature(field)) return;
            DkimResult r;
            r.status = DkimStatus::temperror;
            r.reason = s.failure;
            s.results.push_back(std::move(r));
        });
        s.finished = true;
    }
}

DkimVerification::~DkimVerification() = default;
DkimVerification::DkimVerification(DkimVerification&&) noexcept = default;
DkimVerification& DkimVerification::operator=(DkimVerification&&) noexcept = default;

const std::vector<Question>& DkimVerification::questions() const { return state_->questions; }

const Question* DkimVerification::next() const {
    const dkim::State& s = *state_;
    for (std::size_t i = 0; i < s.questions.size(); ++i)
        if (!s.answers[i]) return &s.questions[i];
    return nullptr;
}

void DkimVerification::answer(const Answer& answer) {
    dkim::State& s = *state_;
    for (std::size_t i = 0; i < s.questions.size(); ++i) {
        if (!s.answers[i]) {
            s.answers[i] = answer;
            return;
        }
    }
}

void DkimVerification::answer(const Question& question, const Answer& answer) {
    dkim::State& s = *state_;
    for (std::size_t i = 0; i < s.questions.size(); ++i)
        if (s.questions[i] == question) s.answers[i] = answer;
}

const std::vector<DkimResult>& DkimVerification::results() {
    dkim::State& s = *state_;
    if (!s.finished) dkim::finish(s);
    return s.results;
}

std::vector<DkimResult> verify_dkim(const std::function<Answer(const Question&)>& resolve,
                                    std::string_view message, const DkimVerifyOptions& options) {
    DkimVerification v(message, options);
    while (const Question* q = v.next()) v.answer(resolve(*q));
    return v.results();
}

}  // namespace postern::dns

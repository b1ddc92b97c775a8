#pragma once
// SPF (RFC 7208) check_host() as a sans-I/O state machine: it asks DNS questions, the caller
// answers them, and it ends with a result. No sockets, clocks or randomness inside, so the same
// object serves the Asio session (answers from c-ares), unit tests and tools (answers from a
// table):
//
//     SpfEvaluation e(request);
//     while (const Question* q = e.next()) e.answer(resolve(*q));
//     const SpfResult& r = e.result();
//
// An SpfEvaluation is owned by one caller and used from one thread at a time. It copies what it
// needs from the request; it keeps nothing from the answers it is given.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/ip.hpp"
#include "dns/types.hpp"

namespace postern::dns {

enum class SpfKind : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view to_string(SpfKind kind);  // "none", "neutral", "pass", ...

struct SpfOptions {
    int lookup_limit = 10;  // terms that query DNS: include a mx ptr exists redirect (4.6.4)
    int void_limit = 2;     // lookups answered NXDOMAIN or with no records (4.6.4)
    int mx_limit = 10;      // MX names per "mx" term; more is a permerror (4.6.4)
    int ptr_limit = 10;     // PTR names considered by "ptr" and %{p}; the rest is ignored
    // Macro-string (RFC 7208 §7) used as the explanation of a fail when the record has no
    // usable exp=. Empty: no explanation. Must stay valid while the evaluation lives.
    std::string_view default_explanation;
};

struct SpfRequest {
    IpAddress client;           // the SMTP client; a v4-mapped IPv6 address counts as IPv4
    std::string_view sender;    // MAIL FROM without <>; "" for the null reverse-path, in
                                // which case postmaster@<helo> is checked (RFC 7208 §2.4)
    std::string_view helo;      // the HELO/EHLO argument (%{h})
    std::string_view receiver;  // our host name, for %{r} in explanations ("unknown" if "")
    std::int64_t now = 0;       // seconds since the epoch, for %{t} in explanations
};

struct SpfResult {
    SpfKind kind = SpfKind::none;
    std::string explanation;  // fail only: the expanded exp= text, else the default explanation
    std::string mechanism;    // the top-level term that matched as written ("-all",
                              // "include:_spf.example.net"), "default" when none did
    std::string domain;       // the domain checked: the sender's, or the HELO name
    std::string problem;      // permerror / temperror / none: what went wrong, for logs
};

namespace spf {
struct Frame;         // one check_host() level (top, include, or after redirect); private
struct Term;          // private
struct MacroContext;  // private
}  // namespace spf

// One check_host() evaluation. Bounded: at most `lookup_limit` terms query DNS, each asking at
// most 1 + max(mx_limit, ptr_limit) questions, plus the %{p} validation and the exp= lookup.
// Movable; not copyable.
class SpfEvaluation {
 public:
    explicit SpfEvaluation(const SpfRequest& request, const SpfOptions& options = {});
    ~SpfEvaluation();
    SpfEvaluation(SpfEvaluation&&) noexcept;
    SpfEvaluation& operator=(SpfEvaluation&&) noexcept;

    // The question to answer next, or nullptr once the result is known. The pointer stays
    // valid until answer() is called or the evaluation is moved or destroyed.
    const Question* next() const { return waiting_ ? &question_ : nullptr; }
    // The answer to next(): CNAMEs already followed, TXT strings joined. Ignored when done().
    void answer(const Answer& answer);

    bool done() const { return !waiting_; }
    const SpfResult& result() const { return result_; }  // final once done()

 private:
    enum class Op : std::uint8_t {
        record,
        address,
        exists,
        mx,
        mx_host,
        ptr_names,
        ptr_address,
        exp
    };
    enum class PtrState : std::uint8_t { unknown, fetched, failed };

    void run();
    void step_terms(spf::Frame& f);
    bool start_term(spf::Frame& f);
    bool evaluate_ptr(spf::Frame& f);
    void on_record(const Answer& a);
    void on_address(const Answer& a, bool exists);
    void on_mx(const Answer& a);
    void on_mx_host(const Answer& a);
    void on_ptr_names(const Answer& a);
    void on_ptr_address(const Answer& a);
    void on_exp(const Answer& a);
    void next_mx_host();
    void matched(spf::Frame& f);
    void no_match(spf::Frame& f);
    spf::Frame& top();
    void frame_result(SpfKind kind);
    void no_record();
    void explain(spf::Frame& f);
    void finish(SpfKind kind, std::string problem = {});
    bool count_lookup();
    bool count_void();
    bool have_validated_names();
    void ask_ptr_names(bool for_term);
    std::string_view validated_name(std::string_view domain) const;
    spf::MacroContext macro_context(const spf::Frame& f) const;
    void push_frame(std::string_view domain, bool redirected);
    void reset_frame(spf::Frame& f, std::string_view domain, bool redirected);
    std::string_view domain_of(const spf::Frame& f) const;
    std::string_view record_of(const spf::Frame& f) const;
    const spf::Term& term_of(const spf::Frame& f) const;
    void ask(std::string_view name, Type type, Op op);
    std::string_view sender_domain() const;
    Type address_type() const { return ip_.is_v4() ? Type::A : Type::AAAA; }

    // The request: storage_ holds "local@domain", the HELO name and the receiver, in that
    // order (lengths, not views, so that moving the evaluation keeps them valid).
    std::string storage_;
    std::uint32_t local_len_ = 0, domain_len_ = 0, helo_len_ = 0;
    IpAddress ip_;
    std::int64_t now_ = 0;
    SpfOptions options_;

    // The include stack, and the buffers its frames keep their text and terms in.
    std::vector<spf::Frame> frames_;
    std::string text_;
    std::vector<spf::Term> terms_;
    std::size_t depth_ = 0;
    int lookups_ = 0;
    int voids_ = 0;

    // The term being evaluated in the innermost frame.
    Op op_ = Op::record;
    std::string target_;              // its expanded target name
    std::vector<std::string> names_;  // MX hosts of an "mx" term (the first names_count_)
    std::size_t names_count_ = 0;
    std::size_t name_index_ = 0;

    // The client's PTR names (at most ptr_limit), fetched once for "ptr" and %{p}.
    PtrState ptr_state_ = PtrState::unknown;
    bool ptr_void_ = false;
    bool ptr_for_term_ = false;  // the pending PTR question serves a "ptr" term
    std::vector<std::string> ptr_names_;
    std::vector<std::int8_t> ptr_valid_;  // -1 not yet looked up, 0 not validated, 1 validated

    std::string exp_text_;
    Question question_;
    bool waiting_ = false;
    SpfResult result_;
};

// Runs an evaluation to the end with a synchronous resolver: for tests and tools.
SpfResult evaluate_spf(const std::function<Answer(const Question&)>& resolve,
                       const SpfRequest& request, const SpfOptions& options = {});

}  // namespace postern::dns

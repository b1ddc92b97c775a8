// DMARC policy discovery (RFC 7489 §6.6.3) as a sans-I/O state machine.
#include "dns/dmarc.hpp"

namespace postern::dns {

DmarcEvaluation::DmarcEvaluation(std::string_view from_domain) {
    if (!from_domain.empty() && from_domain.back() == '.') from_domain.remove_suffix(1);
    from_.assign(from_domain);
    for (char& c : from_)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    org_ = organizational_domain(from_);
    if (from_.empty() || org_.empty()) {
        end(Status::none, "no valid From domain");
        return;
    }
    ask(from_);
}

void DmarcEvaluation::ask(std::string_view domain) {
    domain_.assign(domain);
    question_.name.assign("_dmarc.").append(domain);
    question_.type = Type::TXT;
    waiting_ = true;
}

void DmarcEvaluation::end(Status s, std::string problem) {
    status_ = s;
    problem_ = std::move(problem);
    waiting_ = false;
}

void DmarcEvaluation::answer(const Answer& a) {
    if (!waiting_) return;
    waiting_ = false;
    // A DNS error is not "no record": the receiver may defer (4xx) and try again.
    if (a.status == dns::Status::temperror) {
        end(Status::temperror, "DNS error looking up " + question_.name);
        return;
    }
    const std::string* found = nullptr;
    int count = 0;
    if (a.status == dns::Status::ok) {
        for (const std::string& txt : a.txt) {  // step 3: other TXT records are discarded
            if (!is_dmarc_record(txt)) continue;
            if (count++ == 0) found = &txt;
        }
    }
    if (count > 1) {  // step 5: several records, DMARC does not apply
        end(Status::permerror, "more than one DMARC record at " + question_.name);
        return;
    }
    if (count == 0) {  // step 4: none at the From domain: try the Organizational Domain once
        if (!at_org_ && org_ != from_) {
            at_org_ = true;
            ask(org_);
            return;
        }
        end(Status::none);
        return;
    }
    auto rec = parse_dmarc(*found);
    if (!rec) {  // step 6: a record without a usable policy: DMARC does not apply
        end(Status::permerror, question_.name + ": " + rec.error().message());
        return;
    }
    record_ = std::move(*rec);
    subdomain_ = at_org_;
    end(Status::found);
}

DmarcResult DmarcEvaluation::evaluate(const DmarcAuth& auth, unsigned sample) const {
    DmarcResult r;
    switch (status_) {
        case Status::found:
            r = evaluate_dmarc(record_, subdomain_, from_, auth, sample);
            r.domain = domain_;
            return r;
        case Status::none:
            r.kind = DmarcResultKind::none;
            break;
        case Status::temperror:
            r.kind = DmarcResultKind::temperror;
            break;
        case Status::permerror:
            r.kind = DmarcResultKind::permerror;
            break;
    }
    r.problem = problem_;
    return r;
}

DmarcResult evaluate_dmarc(const std::function<Answer(const Question&)>& resolve,
                           std::string_view from_domain, const DmarcAuth& auth, unsigned sample) {
    DmarcEvaluation d(from_domain);
    while (const Question* q = d.next()) d.answer(resolve(*q));
    return d.evaluate(auth, sample);
}

}  // namespace postern::dns

#include "connex/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "features.hpp"
#include "text.hpp"

namespace postern::connex {
namespace {

using text::Tokens;

enum class Kind : std::uint8_t { exact, prefix, cls, any, gap };

constexpr std::uint32_t kNoWord = UINT32_MAX;

struct PatTok {
    std::string_view text;         // the stem for prefix tokens
    std::uint32_t word = kNoWord;  // lexicon id for exact tokens
    std::uint16_t cls = 0;
    Kind kind = Kind::exact;
};

// One entry per distinct word the engine cares about: every exact pattern token, the class
// words (weekdays, months, …) and the negators. A message costs one hash lookup per token; after
// that, matching compares integers.
struct Word {
    std::uint16_t cls = 0;
    bool negator = false;
    bool keeps_negation_off = false;   // "no problem": "no" is not a negator before these
    std::vector<std::uint16_t> first;  // features whose pattern starts with this word
};

constexpr std::string_view kNegators[] = {"not",      "no",      "never", "dont",    "doesnt",
                                          "didnt",    "isnt",    "arent", "wasnt",   "werent",
                                          "wont",     "wouldnt", "cant",  "cannot",  "couldnt",
                                          "shouldnt", "without", "nor",   "neither", "hardly"};
constexpr std::string_view kNotNegating[] = {"problem", "worries", "doubt", "rush"};

std::uint32_t pack4(std::string_view s) {
    return std::uint32_t(std::uint8_t(s[0])) | std::uint32_t(std::uint8_t(s[1])) << 8 |
           std::uint32_t(std::uint8_t(s[2])) << 16 | std::uint32_t(std::uint8_t(s[3])) << 24;
}

// The feature table compiled once: the lexicon, each pattern as tokens, and indexes by first
// token (word id, four-character stem, or class).
struct Compiled {
    std::unordered_map<std::string_view, std::uint32_t> ids;
    std::vector<Word> words;
    std::vector<std::vector<PatTok>> pats;  // per feature; empty for structural (#) features
    std::unordered_map<std::uint32_t, std::vector<std::uint16_t>> by_prefix4;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> by_class;  // (class bits, feature)
    std::unordered_map<std::string_view, std::uint16_t> structural;

    std::uint32_t intern(std::string_view w) {
        auto [it, fresh] = ids.emplace(w, static_cast<std::uint32_t>(words.size()));
        if (fresh) words.emplace_back();
        return it->second;
    }
    std::uint32_t find(std::string_view w) const {
        auto it = ids.find(w);
        return it == ids.end() ? kNoWord : it->second;
    }
};

std::uint16_t class_of(std::string_view name) {
    if (name == "num") return text::kNum;
    if (name == "money") return text::kMoney;
    if (name == "time") return text::kTime;
    if (name == "weekday") return text::kWeekday;
    if (name == "month") return text::kMonth;
    if (name == "relday") return text::kRelDay;
    if (name == "email") return text::kEmail;
    if (name == "url") return text::kUrl;
    if (name == "dsn") return text::kDsn;
    if (name == "quarter") return text::kQuarter;
    return 0;
}

Compiled build() {
    Compiled c;
    for (const auto& cw : text::class_words()) c.words[c.intern(cw.word)].cls |= cw.cls;
    for (auto n : kNegators) c.words[c.intern(n)].negator = true;
    for (auto n : kNotNegating) c.words[c.intern(n)].keeps_negation_off = true;
    auto table = feature_table();
    c.pats.resize(table.size());
    for (std::size_t f = 0; f < table.size(); ++f) {
        auto pattern = table[f].pattern;
        auto id = static_cast<std::uint16_t>(f);
        if (pattern.starts_with('#')) {
            c.structural.emplace(pattern, id);
            continue;
        }
        auto& out = c.pats[f];
        std::size_t pos = 0;
        while (pos < pattern.size()) {
            auto sp = pattern.find(' ', pos);
            if (sp == std::string_view::npos) sp = pattern.size();
            auto tok = pattern.substr(pos, sp - pos);
            pos = sp + 1;
            if (tok == "~") {
                out.push_back({tok, kNoWord, 0, Kind::gap});
            } else if (tok == "@any") {
                out.push_back({tok, kNoWord, 0, Kind::any});
            } else if (tok.starts_with('@')) {
                auto cls = class_of(tok.substr(1));
                if (cls == 0) std::abort();  // a typo in the feature table
                out.push_back({tok, kNoWord, cls, Kind::cls});
            } else if (tok.ends_with('*')) {
                out.push_back({tok.substr(0, tok.size() - 1), kNoWord, 0, Kind::prefix});
            } else {
                out.push_back({tok, c.intern(tok), 0, Kind::exact});
            }
        }
        const auto& first = out.front();
        switch (first.kind) {
            case Kind::exact:
                c.words[first.word].first.push_back(id);
                break;
            case Kind::prefix:
                if (first.text.size() < 4) std::abort();  // stems index on four characters
                c.by_prefix4[pack4(first.text)].push_back(id);
                break;
            case Kind::cls:
                c.by_class.emplace_back(first.cls, id);
                break;
            default:
                std::abort();  // patterns start with a concrete token
        }
    }
    return c;
}

const Compiled& compiled() {
    static const Compiled c = build();
    return c;
}

// The message's tokens with their lexicon ids (kNoWord for words no pattern mentions).
struct View {
    const Tokens& t;
    const std::vector<std::uint32_t>& ids;
};

bool token_matches(const View& v, std::size_t i, const PatTok& p) {
    switch (p.kind) {
        case Kind::exact:
            return v.ids[i] == p.word;
        case Kind::prefix:
            return v.t.text(i).starts_with(p.text);
        case Kind::cls:
            return (v.t.toks[i].cls & p.cls) != 0;
        case Kind::any:
            return true;
        case Kind::gap:
            return false;
    }
    return false;
}

// Matches pattern tokens [pi, end) at token ti; `hi` ends the region (subject or body).
bool match_at(const View& v, const std::vector<PatTok>& p, std::size_t pi, std::size_t ti,
              std::size_t hi) {
    for (; pi < p.size(); ++pi, ++ti) {
        if (p[pi].kind == Kind::gap) {
            for (std::size_t skip = 0; skip <= 2; ++skip) {
                if (skip > 0 && (ti + skip > hi || v.t.boundary(ti + skip - 1))) break;
                if (match_at(v, p, pi + 1, ti + skip, hi)) return true;
            }
            return false;
        }
        if (ti >= hi || v.t.boundary(ti) || !token_matches(v, ti, p[pi])) return false;
    }
    return true;
}

// A negator within three tokens before i, in the same sentence ("not really interested").
bool negated(const View& v, std::size_t i, std::size_t lo) {
    const auto& words = compiled().words;
    for (std::size_t k = 1; k <= 3 && i >= lo + k; ++k) {
        std::size_t j = i - k;
        if (v.t.boundary(j)) break;
        if (v.ids[j] == kNoWord || !words[v.ids[j]].negator) continue;
        if (v.t.text(j) == "no" && j + 1 < v.ids.size() && v.ids[j + 1] != kNoWord &&
            words[v.ids[j + 1]].keeps_negation_off)
            continue;
        return true;
    }
    return false;
}

struct Hit {
    std::uint16_t feature;
    bool subject;
};

void collect_hits(const View& v, std::vector<Hit>& hits) {
    const auto& c = compiled();
    auto table = feature_table();
    const auto& t = v.t;
    std::size_t n = t.toks.size();
    auto try_feature = [&](std::uint16_t f, std::size_t i, std::size_t lo, std::size_t hi) {
        const auto& feat = table[f];
        bool subject = i < t.body_begin;
        if ((feat.flags & kSubjectOnly) && !subject) return;
        if (!match_at(v, c.pats[f], 0, i, hi)) return;
        if ((feat.flags & (kNegatable | kNegatedOnly)) &&
            negated(v, i, lo) != ((feat.flags & kNegatedOnly) != 0))
            return;
        hits.push_back({f, subject});
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (t.boundary(i)) continue;
        std::size_t lo = i < t.body_begin ? 0 : t.body_begin;
        std::size_t hi = i < t.body_begin ? t.body_begin : n;
        if (v.ids[i] != kNoWord)
            for (auto f : c.words[v.ids[i]].first) try_feature(f, i, lo, hi);
        if (t.toks[i].len >= 4)
            if (auto it = c.by_prefix4.find(pack4(t.text(i))); it != c.by_prefix4.end())
                for (auto f : it->second) try_feature(f, i, lo, hi);
        if (t.toks[i].cls != text::kWord)
            for (auto [cls, f] : c.by_class)
                if (t.toks[i].cls & cls) try_feature(f, i, lo, hi);
    }
}

void add_structural(const MessageView& m, const Tokens& t, std::vector<Hit>& hits) {
    const auto& s = compiled().structural;
    auto add = [&](std::string_view name) { hits.push_back({s.at(name), false}); };
    if (text::icontains(m.from, "mailer-daemon") || text::icontains(m.from, "postmaster@") ||
        text::icontains(m.from, "mail delivery"))
        add("#from_daemon");
    if (text::icontains(m.from, "noreply") || text::icontains(m.from, "no-reply") ||
        text::icontains(m.from, "donotreply") || text::icontains(m.from, "do-not-reply"))
        add("#from_noreply");
    if (t.question_marks >= 1) add("#question_mark");
    if (t.question_marks >= 2) add("#question_marks");
    if (t.shouting_words >= 2) add("#shouting");
}

double round2(double x) { return std::round(x * 100.0) / 100.0; }

Status best_in(const std::array<double, kStatusCount>& scores, std::optional<Tier> tier) {
    Status best = Status::unclassified;
    double top = -1;
    for (const auto& row : all_statuses()) {  // enum order: strict '>' keeps precedence on ties
        if (tier && row.tier != *tier) continue;
        if (scores[static_cast<std::size_t>(row.status)] > top) {
            top = scores[static_cast<std::size_t>(row.status)];
            best = row.status;
        }
    }
    return best;
}

Status decide(const std::array<double, kStatusCount>& scores) {
    auto score = [&](Status s) { return scores[static_cast<std::size_t>(s)]; };
    if (auto s = best_in(scores, Tier::system); score(s) >= kSystemGate) return s;
    if (auto s = best_in(scores, Tier::safety); score(s) >= kSafetyGate) return s;
    auto s = best_in(scores, std::nullopt);
    if (s == Status::question || s == Status::acknowledgement) {
        // The generic replies are fallbacks: a question about price is a pricing question, and a
        // "thanks" does not hide a decline. A specific intent with real evidence takes over.
        auto alt = Status::unclassified;
        for (const auto& row : all_statuses()) {
            if (row.tier != Tier::conversation || row.status == Status::question ||
                row.status == Status::acknowledgement || row.status == Status::unclassified)
                continue;
            if (score(row.status) > score(alt)) alt = row.status;
        }
        if (score(alt) >= kSpecificOverFallback) s = alt;
    }
    return score(s) >= kMinScore ? s : Status::unclassified;
}

// 0.25 floor, up to 0.45 for the strength of the winning score, up to 0.30 for its margin.
double rule_confidence(const std::array<double, kStatusCount>& scores, Status winner) {
    double top = scores[static_cast<std::size_t>(winner)];
    if (top < kMinScore) return kUnclassifiedConfidence;
    double second = 0;
    for (std::size_t i = 0; i < scores.size(); ++i)
        if (i != static_cast<std::size_t>(winner)) second = std::max(second, scores[i]);
    double strength = 1.0 - std::exp(-top / 2.5);
    double margin = std::clamp((top - second) / top, 0.0, 1.0);
    return round2(std::clamp(0.25 + 0.45 * strength + 0.3 * margin, 0.05, 0.99));
}

std::string find_bounced_recipient(const Tokens& t, std::string_view from) {
    for (std::size_t i = t.body_begin; i < t.toks.size(); ++i) {
        if (!(t.toks[i].cls & text::kEmail)) continue;
        auto e = t.text(i);
        if (text::icontains(e, "mailer-daemon") || text::icontains(e, "postmaster")) continue;
        if (!from.empty() && text::icontains(from, e)) continue;
        return std::string(e);
    }
    return {};
}

}  // namespace

Classification classify(const MessageView& m, const TenantWeights& w) {
    Classification c;
    // Scratch buffers are reused per thread: evaluation stays pure (nothing leaks between
    // calls), but the hot path allocates far less.
    thread_local Tokens toks;
    thread_local std::vector<Hit> hits;
    bool truncated = false;
    std::string body = text::strip_reply(m.body, text::kMaxScanBytes, &truncated);
    text::tokenize(m.subject, body, toks);
    c.truncated = truncated;

    // Look every token up once: its lexicon id, and the class a named word carries.
    thread_local std::vector<std::uint32_t> ids;
    const auto& lex = compiled();
    ids.assign(toks.toks.size(), kNoWord);
    for (std::size_t i = 0; i < toks.toks.size(); ++i) {
        if (toks.boundary(i)) continue;
        ids[i] = lex.find(toks.text(i));
        if (ids[i] != kNoWord) toks.toks[i].cls |= lex.words[ids[i]].cls;
    }
    hits.clear();
    collect_hits(View{toks, ids}, hits);
    add_structural(m, toks, hits);
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
        return a.feature != b.feature ? a.feature < b.feature : a.subject < b.subject;
    });

    auto table = feature_table();
    double hard = 0, soft = 0, spam = 0;
    for (std::size_t k = 0; k < hits.size();) {
        auto f = hits[k].feature;
        bool in_body = false, in_subject = false;
        for (; k < hits.size() && hits[k].feature == f; ++k)
            (hits[k].subject ? in_subject : in_body) = true;
        const auto& feat = table[f];
        if (feat.flags & kUrgency) {
            c.urgent = true;
            c.signals.push_back({feat.status, feat.pattern, 0.0, !in_body});
            continue;
        }
        double base = feat.weight * w.feature_multiplier(feat.status, feat.pattern);
        double subj_factor = (toks.reply_subject && !(feat.flags & kSystem)) ? 0.35 : 1.0;
        double b = in_body ? base : 0.0, s = in_subject ? base * subj_factor : 0.0;
        double contrib =
            (b != 0 && s != 0) ? (std::abs(b) >= std::abs(s) ? b + 0.25 * s : s + 0.25 * b) : b + s;
        c.scores[static_cast<std::size_t>(feat.status)] += contrib;
        c.signals.push_back({feat.status, feat.pattern, round2(contrib), !in_body});
        if (feat.flags & kHardBounce) hard += contrib;
        if (feat.flags & kSoftBounce) soft += contrib;
        if (feat.flags & kSpam) spam += contrib;
    }
    for (std::size_t i = toks.body_begin; i < toks.toks.size(); ++i) {
        if (!(toks.toks[i].cls & text::kDsn)) continue;
        (toks.text(i).front() == '5' ? hard : soft) += 2.0;
    }
    for (auto& sc : c.scores) sc = std::max(0.0, sc);

    c.status = decide(c.scores);
    const auto& si = info(c.status);
    c.rule_confidence = rule_confidence(c.scores, c.status);
    c.confidence = round2(std::clamp(c.rule_confidence + w.confidence_delta(c.status), 0.05, 0.99));
    c.priority = si.priority;
    if (c.urgent && si.tier == Tier::conversation && si.priority != Priority::low)
        c.priority = bump(c.priority);
    if (c.status == Status::delivery_failure) {
        c.hard_bounce = hard > soft;
        if (c.hard_bounce) c.bounced_recipient = find_bounced_recipient(toks, m.from);
    }
    c.spam = c.status == Status::complaint_or_spam && spam >= 2.5;
    return c;
}

}  // namespace postern::connex

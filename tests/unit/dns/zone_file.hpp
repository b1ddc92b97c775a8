#pragma once
// Just enough of the master-file format (RFC 1035 §5) to load the hand-written test zones in
// tests/data/dmarc into a StaticZone: $ORIGIN, $TTL, "@", relative owners, a blank owner
// repeating the last one, ";" comments, "( ... )" continuation, quoted character-strings.
// Record types: A, AAAA, MX, TXT, PTR, CNAME; others (SOA, NS) are skipped.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dns/static_zone.hpp"

namespace postern::dns::test {

inline void load_zone_file(StaticZone& zone, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string origin, last_owner, line, pending;
    int depth = 0;
    const auto absolute = [&](const std::string& n) {
        if (n == "@") return origin;
        if (!n.empty() && n.back() == '.') return n.substr(0, n.size() - 1);
        return origin.empty() ? n : n + "." + origin;
    };
    while (std::getline(in, line)) {
        // Strip comments outside quotes, count parentheses.
        std::string clean;
        bool quoted = false;
        for (char c : line) {
            if (c == '"') quoted = !quoted;
            if (!quoted && c == ';') break;
            if (!quoted && c == '(') ++depth;
            if (!quoted && c == ')') --depth;
            clean += (!quoted && (c == '(' || c == ')')) ? ' ' : c;
        }
        pending += pending.empty() ? clean : " " + clean;
        if (depth > 0) continue;
        const std::string entry = std::move(pending);
        pending.clear();
        if (entry.find_first_not_of(" \t") == std::string::npos) continue;

        std::vector<std::string> tok;  // quoted strings keep their quotes
        for (std::size_t i = 0; i < entry.size();) {
            if (entry[i] == ' ' || entry[i] == '\t') {
                ++i;
                continue;
            }
            std::size_t j = i;
            if (entry[i] == '"') {
                j = entry.find('"', i + 1);
                j = j == std::string::npos ? entry.size() : j + 1;
            } else {
                while (j < entry.size() && entry[j] != ' ' && entry[j] != '\t') ++j;
            }
            tok.push_back(entry.substr(i, j - i));
            i = j;
        }
        if (tok[0] == "$ORIGIN") {
            origin = absolute(tok[1]);
            continue;
        }
        if (tok[0][0] == '$') continue;
        std::size_t k = 0;
        if (entry[0] != ' ' && entry[0] != '\t') last_owner = absolute(tok[k++]);
        while (k < tok.size() &&
               (std::isdigit(static_cast<unsigned char>(tok[k][0])) || tok[k] == "IN"))
            ++k;
        if (k >= tok.size()) continue;
        const std::string type = tok[k++];
        const auto rest = [&](std::size_t i) { return i < tok.size() ? tok[i] : std::string(); };
        if (type == "A")
            zone.add(last_owner, Type::A, rest(k));
        else if (type == "AAAA")
            zone.add(last_owner, Type::AAAA, rest(k));
        else if (type == "CNAME")
            zone.add(last_owner, Type::CNAME, absolute(rest(k)));
        else if (type == "PTR")
            zone.add(last_owner, Type::PTR, absolute(rest(k)));
        else if (type == "MX") {
            const std::string host = rest(k + 1) == "." ? std::string() : absolute(rest(k + 1));
            zone.add(last_owner, Type::MX, host, static_cast<std::uint16_t>(std::stoi(rest(k))));
        } else if (type == "TXT") {
            std::string text;
            for (std::size_t i = k; i < tok.size(); ++i)
                text += tok[i].size() >= 2 && tok[i][0] == '"' ? tok[i].substr(1, tok[i].size() - 2)
                                                               : tok[i];
            zone.add(last_owner, Type::TXT, text);
        }
    }
}

}  // namespace postern::dns::test

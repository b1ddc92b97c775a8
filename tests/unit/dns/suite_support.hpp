#pragma once
// Loading the OpenSPF YAML suites (tests/data/spf/README.md, "Format") into in-memory zones, and
// locating tests/data. Header-only: the unit binary compiles *_test.cpp files only.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dns/static_zone.hpp"
#include "dns/types.hpp"

namespace postern::dns::test {

// tests/data, found from this file's path (or $POSTERN_TEST_DATA).
inline std::filesystem::path data_dir() {
    if (const char* env = std::getenv("POSTERN_TEST_DATA")) return env;
    return std::filesystem::path(POSTERN_SOURCE_DIR) / "tests" / "data";
}

struct SuiteTest {
    std::string name;
    std::string host, mailfrom, helo;
    std::vector<std::string> results;  // any of them is acceptable
    std::optional<std::string> explanation;
};

struct Scenario {
    std::string description;
    StaticZone zone;
    std::vector<SuiteTest> tests;
};

inline std::optional<Type> suite_type(const std::string& t) {
    if (t == "A") return Type::A;
    if (t == "AAAA") return Type::AAAA;
    if (t == "MX") return Type::MX;
    if (t == "TXT" || t == "SPF") return Type::TXT;
    if (t == "PTR") return Type::PTR;
    if (t == "CNAME") return Type::CNAME;
    return std::nullopt;
}

// A TXT/SPF value: one string, or several character-strings of one record, joined.
inline std::string joined(const YAML::Node& v) {
    if (v.IsScalar()) return v.as<std::string>();
    std::string out;
    for (const auto& s : v) out += s.as<std::string>();
    return out;
}

inline void load_name(StaticZone& zone, const std::string& name, const YAML::Node& records) {
    zone.add_name(name);
    bool has_txt = false;
    std::vector<std::string> spf;
    for (const auto& r : records) {
        if (r.IsScalar()) {  // the bare word TIMEOUT
            zone.add_timeout(name);
            continue;
        }
        for (const auto& kv : r) {
            const auto t = kv.first.as<std::string>();
            const YAML::Node& v = kv.second;
            const auto type = suite_type(t);
            if (!type) throw std::runtime_error("unknown record type " + t);
            if (v.IsScalar() && v.as<std::string>() == "TIMEOUT") {
                zone.add_timeout(name, *type);
            } else if (t == "SPF") {
                // RFC 7208 uses TXT only: SPF records count when the name has no TXT records.
                if (!(v.IsScalar() && v.as<std::string>() == "NONE")) spf.push_back(joined(v));
            } else if (t == "TXT") {
                has_txt = true;  // "TXT: NONE" too: no TXT, and SPF is not copied
                if (!(v.IsScalar() && v.as<std::string>() == "NONE"))
                    zone.add(name, Type::TXT, joined(v));
            } else if (t == "MX") {
                zone.add(name, Type::MX, v[1].as<std::string>(), v[0].as<std::uint16_t>());
            } else {
                zone.add(name, *type, v.as<std::string>());
            }
        }
    }
    if (!has_txt)
        for (const auto& s : spf) zone.add(name, Type::TXT, s);
}

inline std::vector<Scenario> load_suite(const std::filesystem::path& path) {
    std::vector<Scenario> out;
    for (const YAML::Node& doc : YAML::LoadAllFromFile(path.string())) {
        Scenario s;
        s.description = doc["description"].as<std::string>();
        for (const auto& kv : doc["zonedata"])
            load_name(s.zone, kv.first.as<std::string>(), kv.second);
        for (const auto& kv : doc["tests"]) {
            SuiteTest t;
            t.name = kv.first.as<std::string>();
            const YAML::Node& n = kv.second;
            t.host = n["host"].as<std::string>();
            t.mailfrom = n["mailfrom"].as<std::string>();
            t.helo = n["helo"].as<std::string>();
            const YAML::Node& r = n["result"];
            if (r.IsSequence()) {
                for (const auto& x : r) t.results.push_back(x.as<std::string>());
            } else {
                t.results.push_back(r.as<std::string>());
            }
            if (n["explanation"]) t.explanation = n["explanation"].as<std::string>();
            s.tests.push_back(std::move(t));
        }
        out.push_back(std::move(s));
    }
    return out;
}

// The suite's DNS: the zone, plus what pydns did and the suite relies on: a label over 63
// octets is a temporary error, and so is any name under "error." that the zone lacks.
inline Answer suite_resolve(const StaticZone& zone, const Question& q) {
    Answer timeout;
    timeout.status = Status::temperror;
    std::size_t label = 0;
    for (char c : q.name) {
        label = c == '.' ? 0 : label + 1;
        if (label > 63) return timeout;
    }
    if (!zone.contains(q.name) && q.name.size() >= 6 &&
        (q.name.compare(0, 6, "error.") == 0 || q.name.compare(0, 6, "ERROR.") == 0))
        return timeout;
    return zone.resolve(q);
}

}  // namespace postern::dns::test

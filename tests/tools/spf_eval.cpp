// postern-spf-eval: runs Postern's SPF evaluator against a DNS zone given as JSON, for
// differential tests against other implementations (tests/integration/test_spf_pyspf.py).
//
//   postern-spf-eval --zone zone.json --ip 192.0.2.1 --sender a@example.com --helo mx.example.com
//   postern-spf-eval --zone zone.json --cases cases.json
//
// zone.json: {"name": [records]}, each record {"TXT": "text" | ["str", ...]}, {"A": "addr"},
// {"AAAA": "addr"}, {"MX": [pref, "host"]}, {"PTR": "name"}, {"CNAME": "name"}, {"TYPE": "TIMEOUT"}
// (questions of that type time out) or "TIMEOUT" (questions of types without records time out).
// cases.json: [{"id": "...", "ip": "...", "sender": "...", "helo": "..."}, ...].
// Output: one JSON object per evaluation and line: {"id", "result", "explanation", "mechanism",
// "problem"}.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "dns/spf.hpp"
#include "dns/static_zone.hpp"

namespace json = boost::json;
using namespace postern::dns;

namespace {

json::value read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

Type parse_type(std::string_view t) {
    if (t == "A") return Type::A;
    if (t == "AAAA") return Type::AAAA;
    if (t == "MX") return Type::MX;
    if (t == "TXT") return Type::TXT;
    if (t == "PTR") return Type::PTR;
    if (t == "CNAME") return Type::CNAME;
    throw std::runtime_error("unknown record type " + std::string(t));
}

StaticZone load_zone(const json::value& v) {
    StaticZone zone;
    for (const auto& [name, records] : v.as_object()) {
        zone.add_name(name);
        for (const json::value& r : records.as_array()) {
            if (r.is_string()) {
                if (r.as_string() != "TIMEOUT") throw std::runtime_error("bad record");
                zone.add_timeout(name);
                continue;
            }
            for (const auto& [type_name, value] : r.as_object()) {
                const Type type = parse_type(type_name);
                if (value.is_string() && value.as_string() == "TIMEOUT") {
                    zone.add_timeout(name, type);
                } else if (type == Type::MX) {
                    const auto& mx = value.as_array();
                    zone.add(name, type, mx.at(1).as_string(),
                             static_cast<std::uint16_t>(mx.at(0).to_number<int>()));
                } else if (value.is_array()) {  // TXT character-strings: joined
                    std::string joined;
                    for (const json::value& s : value.as_array()) joined += s.as_string();
                    zone.add(name, type, joined);
                } else {
                    zone.add(name, type, value.as_string());
                }
            }
        }
    }
    return zone;
}

json::object evaluate(const StaticZone& zone, std::string_view ip, std::string_view sender,
                      std::string_view helo) {
    const auto client = IpAddress::parse(ip);
    if (!client) throw std::runtime_error("bad IP address " + std::string(ip));
    SpfRequest request;
    request.client = *client;
    request.sender = sender;
    request.helo = helo;
    request.receiver = "receiver.test";
    SpfOptions options;
    options.default_explanation = "DEFAULT";
    const SpfResult r =
        evaluate_spf([&](const Question& q) { return zone.resolve(q); }, request, options);
    return json::object{{"result", to_string(r.kind)},
                        {"explanation", r.explanation},
                        {"mechanism", r.mechanism},
                        {"problem", r.problem}};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Evaluates SPF (RFC 7208) against a zone given as JSON"};
    std::string zone_path, cases_path, ip, sender, helo;
    app.add_option("--zone", zone_path, "zone JSON file")->required();
    app.add_option("--cases", cases_path, "cases JSON file (batch mode)");
    app.add_option("--ip", ip, "client IP address");
    app.add_option("--sender", sender, "MAIL FROM (empty for <>)");
    app.add_option("--helo", helo, "HELO name");
    CLI11_PARSE(app, argc, argv);
    try {
        const StaticZone zone = load_zone(read_json(zone_path));
        if (cases_path.empty()) {
            std::cout << json::serialize(evaluate(zone, ip, sender, helo)) << "\n";
            return 0;
        }
        const json::value cases = read_json(cases_path);
        for (const json::value& c : cases.as_array()) {
            const auto& o = c.as_object();
            json::object out = evaluate(zone, o.at("ip").as_string(), o.at("sender").as_string(),
                                        o.at("helo").as_string());
            out["id"] = o.at("id");
            std::cout << json::serialize(out) << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "postern-spf-eval: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

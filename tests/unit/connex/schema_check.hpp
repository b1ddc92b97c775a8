#pragma once
// A test-only checker for the JSON Schema subset the Connex OpenAPI document uses: type (string
// or array), required, enum, const, properties, items, $ref, allOf, additionalProperties,
// minimum, maximum. description/examples/default are annotations. Any other keyword fails the
// check, so a new keyword in the contract cannot slip by unchecked.
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace connex_test {

inline std::filesystem::path data_dir() {
    return std::filesystem::path(POSTERN_SOURCE_DIR) / "tests" / "data" / "connex";
}

class SchemaChecker {
 public:
    explicit SchemaChecker(const boost::json::object& openapi)
        : schemas_(openapi.at("components").at("schemas").as_object()) {}

    static SchemaChecker load() {
        static const boost::json::value doc = [] {
            std::ifstream in(data_dir() / "openapi.json");
            std::stringstream ss;
            ss << in.rdbuf();
            return boost::json::parse(ss.str());
        }();
        return SchemaChecker(doc.as_object());
    }

    // Errors ("path: message") of `v` against components.schemas[name].
    std::vector<std::string> check(const boost::json::value& v, std::string_view name) const {
        std::vector<std::string> errors;
        walk(v, schemas_.at(name), "$", errors);
        return errors;
    }

 private:
    const boost::json::object& schemas_;

    static bool is_type(const boost::json::value& v, std::string_view t) {
        if (t == "object") return v.is_object();
        if (t == "array") return v.is_array();
        if (t == "string") return v.is_string();
        if (t == "boolean") return v.is_bool();
        if (t == "null") return v.is_null();
        if (t == "number") return v.is_number();
        if (t == "integer")
            return v.is_int64() || v.is_uint64() ||
                   (v.is_double() && std::floor(v.get_double()) == v.get_double());
        return false;
    }

    static double num(const boost::json::value& v) { return v.to_number<double>(); }

    void walk(const boost::json::value& v, const boost::json::value& schema_v,
              const std::string& path, std::vector<std::string>& errors) const {
        const auto& schema = schema_v.as_object();
        for (const auto& [key, sub] : schema) {
            if (key == "$ref") {
                std::string_view ref = sub.as_string();
                constexpr std::string_view prefix = "#/components/schemas/";
                if (!ref.starts_with(prefix)) {
                    errors.push_back(path + ": unsupported $ref " + std::string(ref));
                    continue;
                }
                walk(v, schemas_.at(ref.substr(prefix.size())), path, errors);
            } else if (key == "allOf") {
                for (const auto& s : sub.as_array()) walk(v, s, path, errors);
            } else if (key == "type") {
                bool ok = false;
                if (sub.is_string())
                    ok = is_type(v, sub.as_string());
                else
                    for (const auto& t : sub.as_array()) ok = ok || is_type(v, t.as_string());
                if (!ok)
                    errors.push_back(path + ": wrong type, want " + boost::json::serialize(sub));
            } else if (key == "enum") {
                const auto& a = sub.as_array();
                if (std::find(a.begin(), a.end(), v) == a.end())
                    errors.push_back(path + ": " + boost::json::serialize(v) + " not in enum");
            } else if (key == "const") {
                if (v != sub)
                    errors.push_back(path + ": want const " + boost::json::serialize(sub));
            } else if (key == "required") {
                if (!v.is_object()) continue;
                for (const auto& r : sub.as_array())
                    if (!v.as_object().contains(r.as_string()))
                        errors.push_back(path + ": missing required " + std::string(r.as_string()));
            } else if (key == "properties") {
                if (!v.is_object()) continue;
                for (const auto& [pname, pschema] : sub.as_object())
                    if (auto* pv = v.as_object().if_contains(pname))
                        walk(*pv, pschema, path + "." + std::string(pname), errors);
            } else if (key == "additionalProperties") {
                if (!v.is_object() || (sub.is_bool() && sub.as_bool())) continue;
                const auto* props = schema.if_contains("properties");
                for (const auto& [pname, pv] : v.as_object()) {
                    if (props && props->as_object().contains(pname)) continue;
                    if (sub.is_bool())
                        errors.push_back(path + ": unexpected " + std::string(pname));
                    else
                        walk(pv, sub, path + "." + std::string(pname), errors);
                }
            } else if (key == "items") {
                if (!v.is_array()) continue;
                std::size_t i = 0;
                for (const auto& item : v.as_array())
                    walk(item, sub, path + "[" + std::to_string(i++) + "]", errors);
            } else if (key == "minimum") {
                if (v.is_number() && num(v) < num(sub)) errors.push_back(path + ": below minimum");
            } else if (key == "maximum") {
                if (v.is_number() && num(v) > num(sub)) errors.push_back(path + ": above maximum");
            } else if (key == "description" || key == "examples" || key == "default") {
                // annotations
            } else {
                errors.push_back(path + ": schema keyword '" + std::string(key) +
                                 "' not supported");
            }
        }
    }
};

}  // namespace connex_test

#include "connex/workflow.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "text.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

std::string_view str(const json::value* v) {
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// A status or inbox entry: a string, or an object naming itself by name, id or label.
std::string_view entry_name(const json::value& v) {
    if (v.is_string()) return v.get_string();
    if (const auto* o = v.if_object()) {
        for (auto key : {"name", "id", "label", "status"})
            if (auto s = str(o->if_contains(key)); !s.empty()) return s;
    }
    return {};
}

// "proof_of_funds_requested" matches an app status "Proof of funds requested".
bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] == '_' ? ' ' : a[i], y = b[i] == '_' ? ' ' : b[i];
        if (!text::iequals(std::string_view(&x, 1), std::string_view(&y, 1))) return false;
    }
    return true;
}

const json::array* array_at(const json::object* o, std::string_view key) {
    auto* v = o ? o->if_contains(key) : nullptr;
    return v ? v->if_array() : nullptr;
}

const json::value* find_entry(const json::array* list, std::string_view name) {
    if (!list) return nullptr;
    for (const auto& v : *list)
        if (same_name(entry_name(v), name)) return &v;
    return nullptr;
}

const json::value* mapping_for(const json::object* wf, Status s) {
    if (!wf) return nullptr;
    for (auto key : {"canonicalMappings", "canonicalMap", "mappings", "statusMappings"}) {
        auto* v = wf->if_contains(key);
        if (!v) continue;
        if (const auto* o = v->if_object()) {
            if (auto* m = o->if_contains(name(s))) return m;
        } else if (const auto* a = v->if_array()) {  // [{"canonical": "...", "status": "..."}]
            for (const auto& item : *a)
                if (const auto* io = item.if_object();
                    io && str(io->if_contains("canonical")) == name(s))
                    return &item;
        }
    }
    return nullptr;
}

std::string_view inbox_named_like(const json::array* inboxes, std::string_view needle) {
    if (!inboxes) return {};
    for (const auto& v : *inboxes)
        if (auto n = entry_name(v); text::icontains(n, needle)) return n;
    return {};
}

// Is from → to allowed? nullopt when the workflow has no rule for `from` at all.
std::optional<bool> transition_rule(const json::value& transitions, std::string_view from,
                                    std::string_view to) {
    auto lists = [&](const json::value& targets) {
        if (targets.is_string()) return same_name(targets.get_string(), to) || targets == "*";
        if (const auto* a = targets.if_array())
            for (const auto& t : *a)
                if (t.is_string() && (same_name(t.get_string(), to) || t == "*")) return true;
        return false;
    };
    std::optional<bool> rule;
    if (const auto* o = transitions.if_object()) {
        for (const auto& [k, targets] : *o) {
            if (!same_name(k, from) && k != "*") continue;
            rule = rule.value_or(false) || lists(targets);
        }
    } else if (const auto* a = transitions.if_array()) {
        for (const auto& item : *a) {
            const auto* io = item.if_object();
            if (!io) continue;
            auto f = str(io->if_contains("from"));
            if (!same_name(f, from) && f != "*") continue;
            auto* targets = io->if_contains("to");
            rule = rule.value_or(false) || (targets && lists(*targets));
        }
    }
    return rule;
}

}  // namespace

WorkflowMapping map_workflow(const json::object* wf, std::optional<std::string_view> current,
                             Status canonical) {
    const auto& si = info(canonical);
    WorkflowMapping out;
    const auto* statuses = array_at(wf, "statuses");
    const auto* inboxes = array_at(wf, "inboxes");
    const auto* mapping = mapping_for(wf, canonical);
    const auto* mo = mapping ? mapping->if_object() : nullptr;
    std::string_view cur = current.value_or("");

    // 1. The target status.
    std::string_view target;
    bool keep = !si.changes_status;
    std::string keep_reason =
        fmt::format("canonical status '{}' does not change the app status", si.name);
    if (!keep && mapping) {
        target = mo ? str(mo->if_contains("status")) : str(mapping);
        if (target.empty()) {
            keep = true;
            keep_reason = fmt::format("workflow maps '{}' to no status change", si.name);
        }
    }
    if (!keep && target.empty()) {
        if (const auto* e = find_entry(statuses, si.name)) {
            target = entry_name(*e);
        } else if (statuses && !statuses->empty()) {
            keep = true;
            keep_reason = fmt::format("workflow has no status or mapping for '{}'", si.name);
            out.warnings.push_back(keep_reason);
        } else {
            target = si.name;
        }
    }
    if (keep) target = current ? cur : si.name;
    out.status = std::string(target);
    if (current && statuses && !statuses->empty() && !find_entry(statuses, cur))
        out.warnings.push_back(fmt::format("currentStatus '{}' is not a workflow status", cur));

    // 2. The inbox.
    std::string_view inbox = mo ? str(mo->if_contains("inbox")) : std::string_view{};
    if (inbox.empty())
        if (const auto* e = find_entry(statuses, target); e && e->is_object())
            inbox = str(e->get_object().if_contains("inbox"));
    if (inbox.empty() && si.approval_required) {
        inbox = wf ? str(wf->if_contains("approvalInbox")) : std::string_view{};
        if (inbox.empty()) inbox = inbox_named_like(inboxes, "approval");
    }
    if (inbox.empty()) {
        if (const auto* e = find_entry(inboxes, si.default_inbox)) inbox = entry_name(*e);
    }
    if (inbox.empty() && wf) inbox = str(wf->if_contains("defaultInbox"));
    if (inbox.empty() && inboxes && !inboxes->empty()) {
        inbox = entry_name(inboxes->front());
        out.warnings.push_back(
            fmt::format("no inbox rule for '{}'; using the first workflow inbox", si.name));
    }
    if (inbox.empty()) inbox = si.default_inbox;
    out.inbox = std::string(inbox);

    // 3. The task type.
    auto task = mo ? str(mo->if_contains("taskType")) : std::string_view{};
    out.task_type = std::string(!task.empty()           ? task
                                : !si.task_type.empty() ? si.task_type
                                                        : "none");

    // 4. The transition.
    out.changes = !keep && !(current && same_name(cur, target));
    if (keep) {
        out.transition_reason = keep_reason;
    } else if (!out.changes) {
        out.transition_reason = fmt::format("already in '{}'", cur);
    } else if (statuses && !statuses->empty() && !find_entry(statuses, target)) {
        out.transition_allowed = false;
        out.transition_reason = fmt::format("'{}' is not one of the workflow's statuses", target);
    } else if (!current) {
        out.transition_reason = "no currentStatus; initial assignment";
    } else if (const auto* tr = wf ? wf->if_contains("transitions") : nullptr; !tr) {
        out.transition_reason =
            wf ? "workflow defines no transition rules" : "no workflow provided";
    } else if (auto rule = transition_rule(*tr, cur, target); !rule) {
        out.transition_allowed = false;
        out.transition_reason = fmt::format("workflow defines no transitions from '{}'", cur);
    } else {
        out.transition_allowed = *rule;
        out.transition_reason = fmt::format("workflow {} '{}' -> '{}'",
                                            *rule ? "allows" : "does not allow", cur, target);
    }
    return out;
}

}  // namespace postern::connex

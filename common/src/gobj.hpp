#pragma once
// Internal to postern_common: owning pointers for GObject instances (GMime's objects), shared by
// mime.cpp, mime_build.cpp and dsn.cpp.
#include <glib-object.h>

#include <memory>

namespace postern::detail {

struct GObjectUnref {
    void operator()(void* p) const {
        if (p != nullptr) g_object_unref(p);
    }
};
template <class T>
using GObj = std::unique_ptr<T, GObjectUnref>;

}  // namespace postern::detail

// SPDX-License-Identifier: BSD-2-Clause
// The one symbol a backend plugin exports (multichap/backend.h). Each plugin's source defines
// multichap_backend_NAME_entry (also what a build that links the backend in calls); this file,
// compiled into the plugin with MULTICHAP_PLUGIN_ENTRY naming that function, exports it under
// the ABI's name.
#include "multichap/backend.h"

extern "C" const multichap_backend_v1* MULTICHAP_PLUGIN_ENTRY(const multichap_backend_host* host);

extern "C" MULTICHAP_BACKEND_EXPORT const multichap_backend_v1* multichap_backend_entry_v1(
    const multichap_backend_host* host) {
  return MULTICHAP_PLUGIN_ENTRY(host);
}

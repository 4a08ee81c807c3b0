"""Every limit of the mock API, in one place: what anyone who can reach the admin API (or send a
request) could otherwise use to exhaust its memory or hold its event loop."""

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# Run-time stubs (POST /__admin/stubs). File stubs are trusted and not counted.
MAX_RUNTIME_STUBS = 1000
# One POST /__admin/stubs body (aiohttp's own default cap, so large stub bodies keep working).
MAX_STUB_BYTES = 1 * MIB
# All run-time stubs together: their JSON text, plus STUB_ITEM_BYTES for each response and each
# header they hold as Python objects (measured: ~250 B per response, ~130 B per header), so
# 1 MiB of `responses: [{}, {}, ...]` counts as the ~75 MiB it takes, not as 1 MiB.
MAX_RUNTIME_STUB_BYTES = 64 * MIB
STUB_ITEM_BYTES = 256
# `responses` of one stub: a sequence for retries needs a few; this bounds the objects one POST builds.
MAX_RESPONSES_PER_STUB = 1000
# Objects and lists nested in one stub, or in a request body kept parsed for echo and the journal
# (deeper ones would hit Python's recursion limit: when parsed, echoed or listed).
MAX_JSON_DEPTH = 64
# pathPattern: its length, and the memory RE2 may use for one compiled pattern and its DFA cache.
MAX_PATH_PATTERN_CHARS = 1024
PATH_PATTERN_MAX_MEM = 1 * MIB
# delayMs and dripIntervalMs: aiohttp does not cancel a handler whose client left, so a longer
# wait would keep a task per request alive long after anyone cares.
MAX_DELAY_MS = 10 * 60 * 1000
# sizeBytes of the oversized and gzip_bomb faults (a gzip bomb is compressed at ~6 s per GiB).
MAX_FAULT_SIZE_BYTES = 4 * GIB

# The journal: newest entries kept; older ones fall off when either limit is reached.
JOURNAL_MAX_ENTRIES = 1000
JOURNAL_MAX_BYTES = 64 * MIB
# Request body bytes kept per request (for echo and the journal); the rest is read and dropped.
CAPTURED_BODY_BYTES = 64 * KIB
# Response bodies are journaled for reading, not for replay: a few KiB shows what was answered.
JOURNAL_RESPONSE_BODY_BYTES = 4 * KIB

# What an error about a full stub store tells the caller to do.
RESET_HINT = ("remove run-time stubs with DELETE /__admin/stubs/{id}, "
              "or all of them (and the journal) with POST /__admin/reset")

# Recording (mockapi/recording/): what one recording keeps, and how long the proxy waits.
MAX_RECORDED_EXCHANGES = 1000
PROXY_RESPONSE_MAX_BYTES = 8 * MIB
PROXY_TIMEOUT_S = 30.0
# Mappings added through the admin API (POST /__admin/mappings, /import, a recording's persist).
MAX_RUNTIME_MAPPINGS = 5000
MAX_IMPORT_BYTES = 32 * MIB

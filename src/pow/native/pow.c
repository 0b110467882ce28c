/*
 * Nano work search as a Node-API addon (see search_variants.h for the search itself).
 *
 * JS API:
 *   variants(): string[]              usable variants, fastest first
 *   search(variant, root, start, count, threshold): bigint | undefined
 *     hashes nonces start, start+1, ... (count of them, wrapping at 2^64) for the 32-byte root and
 *     returns the first whose work value is >= threshold.
 */
#include <node_api.h>
#include "search_variants.h"

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value js_variants(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value list;
  napi_create_array_with_length(env, variant_count, &list);
  for (unsigned i = 0; i < variant_count; i++) {
    napi_value name;
    napi_create_string_utf8(env, variants[i].name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, list, i, name);
  }
  return list;
}

static int get_u64(napi_env env, napi_value value, uint64_t *out) {
  bool lossless;
  return napi_get_value_bigint_uint64(env, value, out, &lossless) == napi_ok && lossless;
}

static napi_value js_search(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5)
    return throw_type_error(env, "search(variant, root, start, count, threshold) takes 5 arguments");
  uint32_t index;
  if (napi_get_value_uint32(env, argv[0], &index) != napi_ok || index >= variant_count)
    return throw_type_error(env, "variant must be an index into variants()");
  bool is_typed;
  napi_is_typedarray(env, argv[1], &is_typed);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (!is_typed || napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || length != 32)
    return throw_type_error(env, "root must be a Uint8Array of 32 bytes");
  uint64_t start, threshold;
  if (!get_u64(env, argv[2], &start)) return throw_type_error(env, "start must be a u64 bigint");
  if (!get_u64(env, argv[4], &threshold)) return throw_type_error(env, "threshold must be a u64 bigint");
  double count;
  if (napi_get_value_double(env, argv[3], &count) != napi_ok || !(count >= 0) || count > 9007199254740991.0)
    return throw_type_error(env, "count must be a non-negative safe integer");

  uint64_t root[4];
  for (int w = 0; w < 4; w++) { /* message words are little-endian */
    const uint8_t *p = (const uint8_t *)data + 8 * w;
    root[w] = 0;
    for (int b = 7; b >= 0; b--) root[w] = (root[w] << 8) | p[b];
  }
  uint64_t found;
  napi_value result;
  if (pow_search(&variants[index], root, start, (uint64_t)count, threshold, &found)) {
    napi_create_bigint_uint64(env, found, &result);
  } else {
    napi_get_undefined(env, &result);
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"variants", NULL, js_variants, NULL, NULL, NULL, napi_default, NULL},
      {"search", NULL, js_search, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

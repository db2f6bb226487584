/*
 * ECDSA verification over a digest computed elsewhere, through the OpenSSL that node itself
 * links (its symbols are resolved from the node binary when this addon loads). node:crypto
 * always hashes what it verifies; a hashedrekord entry or a `sha256:` artifact gives only the
 * digest. One function here (and, from ecdsa_fixed_key.c, fixedKey / verifyFixedKey):
 *
 *   verifyDigest(curve: 0 | 1 | 2, point: Uint8Array, digest: Uint8Array, signature: Uint8Array)
 *     -> boolean
 *
 * curve 0 = P-256, 1 = P-384, 2 = P-521; point is the uncompressed public point (0x04 || x || y),
 * signature the DER ECDSA-Sig-Value. OpenSSL checks that the point lies on the curve, truncates
 * the digest to the order's length and rejects signatures that are not DER. Anything malformed
 * is false, never an exception from OpenSSL.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include "ecdsa_fixed_key.h"

static const int curve_nids[3] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};

static int bytes_of(napi_env env, napi_value value, const unsigned char **data, size_t *length) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) return 0;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (const unsigned char *)raw;
  return 1;
}

static napi_value verify_digest(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value result;
  int ok = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "verifyDigest(curve, point, digest, signature)");
    return NULL;
  }
  int32_t curve = -1;
  const unsigned char *point, *digest, *signature;
  size_t point_length, digest_length, signature_length;
  if (napi_get_value_int32(env, argv[0], &curve) != napi_ok || curve < 0 || curve > 2 ||
      !bytes_of(env, argv[1], &point, &point_length) || !bytes_of(env, argv[2], &digest, &digest_length) ||
      !bytes_of(env, argv[3], &signature, &signature_length)) {
    napi_throw_type_error(env, NULL, "verifyDigest: expected a curve index and three Uint8Arrays");
    return NULL;
  }
  if (digest_length > 0 && signature_length > 0 && signature_length <= 0x7fffffff && point_length > 0) {
    EC_KEY *key = EC_KEY_new_by_curve_name(curve_nids[curve]);
    if (key != NULL && EC_KEY_oct2key(key, point, point_length, NULL) == 1) {
      ok = ECDSA_verify(0, digest, (int)digest_length, signature, (int)signature_length, key) == 1;
    }
    EC_KEY_free(key);
    ERR_clear_error();
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "verifyDigest", NAPI_AUTO_LENGTH, verify_digest, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verifyDigest", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "fixedKey", NAPI_AUTO_LENGTH, fixed_key_create, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fixedKey", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "verifyFixedKey", NAPI_AUTO_LENGTH, fixed_key_verify, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verifyFixedKey", fn) != napi_ok) return NULL;
  return exports;
}

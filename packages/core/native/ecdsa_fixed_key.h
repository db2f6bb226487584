/* ECDSA under a key known in advance (ecdsa_fixed_key.c), registered by ecdsa_digest.c. */
#ifndef SIGSTACK_ECDSA_FIXED_KEY_H
#define SIGSTACK_ECDSA_FIXED_KEY_H
#include <node_api.h>
napi_value fixed_key_create(napi_env env, napi_callback_info info);
napi_value fixed_key_verify(napi_env env, napi_callback_info info);
#endif

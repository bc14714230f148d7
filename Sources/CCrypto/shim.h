/* OpenSSL's libcrypto, for SHA-256 only. The SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP, but they
   keep a plain value-type context (copyable, no allocation) and use the same accelerated (SHA-NI/AVX2) code. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

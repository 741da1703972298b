#include "server/auth/jwks.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace goodbuy::auth {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx =
    std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD,
                                 Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params =
    std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;

std::string Field(const Struct& key, const char* name) {
  auto it = key.fields().find(name);
  if (it == key.fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

absl::StatusOr<std::string> Base64UrlField(const Struct& key,
                                           const char* name) {
  std::string bytes;
  const std::string text = Field(key, name);
  if (text.empty() || !absl::WebSafeBase64Unescape(text, &bytes) ||
      bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a key's \"", name, "\" is missing or not base64url"));
  }
  return bytes;
}

absl::StatusOr<std::string> ToPem(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return absl::InternalError("cannot encode a public key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// Builds a public key of `type` ("RSA", "EC") from OSSL parameters.
absl::StatusOr<std::string> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a key's ", type, " parameters do not form a key"));
  }
  Pkey pkey(raw);
  return ToPem(pkey.get());
}

absl::StatusOr<std::string> RsaPem(const Struct& key) {
  auto n = Base64UrlField(key, "n");
  if (!n.ok()) return n.status();
  auto e = Base64UrlField(key, "e");
  if (!e.ok()) return e.status();
  if (n->size() < 256) {
    return absl::InvalidArgumentError("an RSA key is shorter than 2048 bits");
  }
  Bignum bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                        static_cast<int>(n->size()), nullptr));
  Bignum bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                        static_cast<int>(e->size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) !=
          1) {
    return absl::InternalError("cannot build an RSA key");
  }
  return FromParams("RSA", bld.get());
}

absl::StatusOr<std::string> EcPem(const Struct& key) {
  if (Field(key, "crv") != "P-256") {
    return absl::InvalidArgumentError("an EC key's curve is not P-256");
  }
  auto x = Base64UrlField(key, "x");
  if (!x.ok()) return x.status();
  auto y = Base64UrlField(key, "y");
  if (!y.ok()) return y.status();
  if (x->size() != 32 || y->size() != 32) {
    return absl::InvalidArgumentError("a P-256 key's x or y is not 32 bytes");
  }
  std::string point = absl::StrCat("\x04", *x, *y);
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1) {
    return absl::InternalError("cannot build an EC key");
  }
  return FromParams("EC", bld.get());
}

std::string Base64Url(const unsigned char* data, size_t size) {
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

std::string BignumBase64Url(const BIGNUM* bn, int width = 0) {
  const int size = std::max(BN_num_bytes(bn), width);
  std::string bytes(static_cast<size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), size);
  return absl::WebSafeBase64Escape(bytes);
}

}  // namespace

absl::StatusOr<std::vector<PublicKey>> ParseJwks(absl::string_view json) {
  Struct set;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &set)
           .ok()) {
    return absl::InvalidArgumentError("the key set is not a JSON object");
  }
  auto keys = set.fields().find("keys");
  if (keys == set.fields().end() || !keys->second.has_list_value()) {
    return absl::InvalidArgumentError("the key set has no \"keys\" array");
  }
  std::vector<PublicKey> out;
  int index = 0;
  for (const Value& value : keys->second.list_value().values()) {
    ++index;
    if (!value.has_struct_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("key ", index, " is not an object"));
    }
    const Struct& key = value.struct_value();
    const std::string use = Field(key, "use");
    if (!use.empty() && use != "sig") continue;
    const std::string kty = Field(key, "kty");
    PublicKey pk;
    pk.kid = Field(key, "kid");
    absl::StatusOr<std::string> pem;
    if (kty == "RSA") {
      pk.alg = "RS256";
      pem = RsaPem(key);
    } else if (kty == "EC") {
      pk.alg = "ES256";
      pem = EcPem(key);
    } else {
      continue;  // e.g. "oct" or "OKP": not ours to verify with
    }
    const std::string alg = Field(key, "alg");
    if (!alg.empty() && alg != pk.alg) continue;  // RS384, ES512, ...
    if (!pem.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key ", index, pk.kid.empty() ? "" : " (kid ", pk.kid,
          pk.kid.empty() ? "" : ")", ": ", pem.status().message()));
    }
    pk.pem = std::move(*pem);
    out.push_back(std::move(pk));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        "the key set has no RS256 or ES256 signing key");
  }
  return out;
}

absl::StatusOr<std::string> PemToJwk(absl::string_view pem,
                                     absl::string_view kid) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                : nullptr);
  if (!pkey) {
    // A private key works too: its public half is published.
    Bio again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey.reset(
        again ? PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr)
              : nullptr);
  }
  if (!pkey) return absl::InvalidArgumentError("not a PEM key");
  Struct jwk;
  auto set = [&jwk](const char* name, std::string value) {
    (*jwk.mutable_fields())[name].set_string_value(std::move(value));
  };
  set("kid", std::string(kid));
  set("use", "sig");
  if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      BN_free(n);
      return absl::InternalError("cannot read the RSA key");
    }
    Bignum hold_n(n), hold_e(e);
    set("kty", "RSA");
    set("alg", "RS256");
    set("n", BignumBase64Url(n));
    set("e", BignumBase64Url(e));
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    unsigned char point[65];
    size_t size = 0;
    if (EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                        point, sizeof(point), &size) != 1 ||
        size != 65 || point[0] != 0x04) {
      return absl::InvalidArgumentError("only uncompressed P-256 keys");
    }
    set("kty", "EC");
    set("alg", "ES256");
    set("crv", "P-256");
    set("x", Base64Url(point + 1, 32));
    set("y", Base64Url(point + 33, 32));
  } else {
    return absl::InvalidArgumentError("only RSA and P-256 keys");
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(jwk, &json).ok()) {
    return absl::InternalError("cannot encode the key");
  }
  return json;
}

}  // namespace goodbuy::auth

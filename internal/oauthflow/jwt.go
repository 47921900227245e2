package oauthflow

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // the hashes of algHash
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The client assertion of private_key_jwt (RFC 7523 section 2.2) is signed
// here with the standard library: a JWS in compact form needs a header, the
// claims and one signature, which is less code than a JWT dependency's API.

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 section 2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: long enough
// for a slow token endpoint and some clock skew, short enough that a leaked
// one is soon useless. Each token request signs a new one.
const assertionLifetime = 2 * time.Minute

// signingKey is a private key and the JWS algorithm it signs with.
type signingKey struct {
	alg    string
	signer crypto.Signer
}

// algHash is the hash of each JWS algorithm we sign with (RFC 7518
// section 3.1); EdDSA hashes internally.
var algHash = map[string]crypto.Hash{
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"EdDSA": 0,
}

// SigningAlgs are the JWS algorithms of Options.SigningAlg.
var SigningAlgs = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "EdDSA"}

// parseSigningKey reads a PEM private key (PKCS #8, SEC 1 EC or PKCS #1 RSA)
// and checks that it can sign with alg; an empty alg means the key's own:
// ES256, ES384 or ES512 by curve, RS256 for RSA, EdDSA for Ed25519. The
// errors never quote the key.
func parseSigningKey(pemBytes []byte, alg string) (*signingKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found (it must be a PEM private key: BEGIN PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("the PEM block is %q, not a private key (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		// x509's errors name the structure that failed, never the bytes.
		return nil, fmt.Errorf("parsing the %s: %w", strings.ToLower(block.Type), err)
	}
	var own string
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			own = "ES256"
		case elliptic.P384():
			own = "ES384"
		case elliptic.P521():
			own = "ES512"
		default:
			return nil, fmt.Errorf("the EC key's curve %s has no JWS algorithm (use P-256, P-384 or P-521)", k.Curve.Params().Name)
		}
	case *rsa.PrivateKey:
		own = "RS256"
	case ed25519.PrivateKey:
		own = "EdDSA"
	default:
		return nil, fmt.Errorf("a %T cannot sign a client assertion (use an EC, RSA or Ed25519 key)", key)
	}
	if alg == "" {
		alg = own
	}
	if _, ok := algHash[alg]; !ok {
		return nil, fmt.Errorf("the signing algorithm %q is not one of %s", alg, strings.Join(SigningAlgs, ", "))
	}
	if alg != own && !(strings.HasPrefix(alg, "RS") && strings.HasPrefix(own, "RS")) {
		return nil, fmt.Errorf("the key signs with %s, not %s", own, alg)
	}
	return &signingKey{alg: alg, signer: key.(crypto.Signer)}, nil
}

// assertion returns a client assertion for clientID to present to the
// authorization server whose issuer is audience: iss and sub are the client
// ID, aud the issuer (draft-ietf-oauth-rfc7523bis: the issuer, not the token
// endpoint), with a fresh jti and a short expiry.
func (k *signingKey) assertion(clientID, audience string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("making the assertion's jti: %w", err)
	}
	header, err := json.Marshal(map[string]string{"alg": k.alg, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": audience,
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sig, err := k.sign([]byte(signed))
	if err != nil {
		return "", fmt.Errorf("signing the client assertion with %s: %w", k.alg, err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// sign is the JWS signature of data (RFC 7518 section 3): PKCS #1 v1.5 for
// RS*, the fixed-size r‖s for ES* (not ASN.1), Ed25519 as is.
func (k *signingKey) sign(data []byte) ([]byte, error) {
	h := algHash[k.alg]
	if h == 0 {
		return k.signer.Sign(rand.Reader, data, crypto.Hash(0))
	}
	hh := h.New()
	hh.Write(data)
	digest := hh.Sum(nil)
	switch key := k.signer.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, key, digest)
		if err != nil {
			return nil, err
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	}
	return nil, fmt.Errorf("a %T cannot sign %s", k.signer, k.alg)
}

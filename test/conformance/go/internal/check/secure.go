package check

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// Env is a variable set by run.ts for the security scenarios (listener addresses, users, files).
func Env(name string) string {
	v := os.Getenv(name)
	if v == "" {
		Fail("environment variable %s is not set (run by run.ts)", name)
	}
	return v
}

// TLSConfig trusts the run's CA (FJORD_CA) and nothing else.
func TLSConfig() *tls.Config {
	pem, err := os.ReadFile(Env("FJORD_CA"))
	Must(err, "read FJORD_CA")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		Fail("no certificate in %s", Env("FJORD_CA"))
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Listener is the address of the listener a security scenario uses: FJORD_SASL_SSL or FJORD_SASL_PLAINTEXT.
func Listener(useTLS bool) string {
	if useTLS {
		return Env("FJORD_SASL_SSL")
	}
	return Env("FJORD_SASL_PLAINTEXT")
}

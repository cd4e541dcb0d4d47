package main

// sarama leaves the SCRAM client (RFC 5802) to the application; this is a small one on the
// standard library: client-first, client-final with the proof, and the server's signature checked.

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

type scramClient struct {
	newHash         func() hash.Hash
	user, password  string
	nonce           string
	clientFirstBare string
	serverSignature []byte
	step            int
	done            bool
}

func (s *scramClient) Begin(user, password, _ string) error {
	if strings.ContainsAny(user, ",=") {
		return errors.New("user names with , or = are not handled here")
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s.user, s.password, s.nonce = user, password, base64.RawStdEncoding.EncodeToString(b)
	s.step, s.done = 0, false
	return nil
}

func (s *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (s *scramClient) Step(challenge string) (string, error) {
	s.step++
	switch s.step {
	case 1:
		s.clientFirstBare = "n=" + s.user + ",r=" + s.nonce
		return "n,," + s.clientFirstBare, nil
	case 2:
		attrs := map[string]string{}
		for _, part := range strings.Split(challenge, ",") {
			if k, v, ok := strings.Cut(part, "="); ok {
				attrs[k] = v
			}
		}
		salt, err := base64.StdEncoding.DecodeString(attrs["s"])
		if err != nil {
			return "", fmt.Errorf("server-first salt: %w", err)
		}
		iterations, err := strconv.Atoi(attrs["i"])
		if err != nil || !strings.HasPrefix(attrs["r"], s.nonce) {
			return "", fmt.Errorf("bad server-first message %q", challenge)
		}
		size := s.newHash().Size()
		salted, err := pbkdf2.Key(s.newHash, s.password, salt, iterations, size)
		if err != nil {
			return "", err
		}
		clientKey := s.hmac(salted, "Client Key")
		h := s.newHash()
		h.Write(clientKey)
		storedKey := h.Sum(nil)
		withoutProof := "c=biws,r=" + attrs["r"]
		authMessage := s.clientFirstBare + "," + challenge + "," + withoutProof
		signature := s.hmac(storedKey, authMessage)
		proof := make([]byte, size)
		for i := range proof {
			proof[i] = clientKey[i] ^ signature[i]
		}
		s.serverSignature = s.hmac(s.hmac(salted, "Server Key"), authMessage)
		return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
	default:
		v, ok := strings.CutPrefix(challenge, "v=")
		got, err := base64.StdEncoding.DecodeString(v)
		if !ok || err != nil || !hmac.Equal(got, s.serverSignature) {
			return "", fmt.Errorf("the server's signature does not match (%q)", challenge)
		}
		s.done = true
		return "", nil
	}
}

func (s *scramClient) Done() bool { return s.done }

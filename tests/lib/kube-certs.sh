#!/bin/sh
# Makes a throw-away CA, a server certificate for 127.0.0.1/localhost and a
# client certificate (CN=chaos-admin) in DIR, for the Kubernetes stand-in
# (tests/lib/kube-standin.py). Also writes the base64 forms kubeconfig
# *-data fields take (ca.b64, client.crt.b64, client.key.b64).
set -eu
DIR=$1
cd "$DIR"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=faultline-test-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
key server.key
openssl req -new -key server.key -out server.csr -subj /CN=kube-standin 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
	-days 2 -extfile server.ext 2>/dev/null
key client.key
openssl req -new -key client.key -out client.csr -subj /CN=chaos-admin 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt \
	-days 2 -extfile client.ext 2>/dev/null
# A second CA the server does not trust, for the "wrong CA" case.
key other-ca.key
openssl req -x509 -new -key other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca 2>/dev/null
for f in ca.crt client.crt client.key; do base64 -w0 "$f" >"${f%.*}${f#*.}.tmp"; done
mv cacrt.tmp ca.b64; mv clientcrt.tmp client.crt.b64; mv clientkey.tmp client.key.b64

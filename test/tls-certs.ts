// Certificates made in the test with the openssl command: a CA, and certificates it signs (a
// server's for 127.0.0.1/localhost, clients' with a chosen subject). Null when openssl is missing.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file path and text). */
  caFile: string;
  ca: string;
  /** Signs a new key's certificate; `san` for servers. Returns the paths and text of key and certificate. */
  issue(name: string, subject: string, san?: string): { keyFile: string; certFile: string; key: string; cert: string; bundleFile: string };
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA in `dir` (EC keys: quick to make). */
export function makeCa(dir: string, subject = '/CN=Fjord Test CA'): TestCa {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', ...EC, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', subject], { stdio: 'ignore' });
  let serial = 1;
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, 'utf8'),
    issue(name, subj, san) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      execFileSync('openssl', ['req', '-new', ...EC, '-keyout', keyFile, '-out', csr, '-subj', subj], { stdio: 'ignore' });
      writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(serial++ + Date.now() % 100000), '-days', '2', '-out', certFile, '-extfile', ext], { stdio: 'ignore' });
      const key = readFileSync(keyFile, 'utf8');
      const cert = readFileSync(certFile, 'utf8');
      const bundleFile = join(dir, `${name}-bundle.pem`);
      writeFileSync(bundleFile, key + cert);
      return { keyFile, certFile, key, cert, bundleFile };
    },
  };
}

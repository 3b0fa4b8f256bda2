package dev.loracle.oracle.chain;

import dev.loracle.oracle.config.OracleProperties;
import org.web3j.crypto.exception.CipherException;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Sign;
import org.web3j.crypto.WalletUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The oracle's signing key, from a raw hex key (config/env) or an encrypted keystore file. Only the address is ever
 * printed; {@link #toString()} never shows the key.
 */
public final class OracleKey {
    private final Credentials credentials;

    private OracleKey(Credentials credentials) {
        this.credentials = credentials;
    }

    public static OracleKey load(OracleProperties.Key key) {
        if (!key.keystoreFile().isBlank()) {
            Path file = Path.of(key.keystoreFile());
            if (!Files.isReadable(file)) {
                throw new IllegalStateException("loracle.key.keystore-file " + file.toAbsolutePath() + " is not readable");
            }
            try {
                return new OracleKey(WalletUtils.loadCredentials(key.keystorePassword(), file.toFile()));
            } catch (CipherException wrongPassword) {
                throw new IllegalStateException("cannot decrypt keystore " + file + ": wrong loracle.key.keystore-password?");
            } catch (IOException e) {
                throw new IllegalStateException("cannot read keystore " + file + ": " + e.getMessage());
            }
        }
        String hex = key.privateKey().strip();
        if (hex.isEmpty()) {
            throw new IllegalStateException("no oracle key: set ORACLE_PRIVATE_KEY (loracle.key.private-key) or loracle.key.keystore-file");
        }
        String digits = hex.startsWith("0x") ? hex.substring(2) : hex;
        if (!digits.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalStateException("loracle.key.private-key must be 32 bytes of hex (64 digits, optional 0x); value not shown");
        }
        return new OracleKey(Credentials.create(digits));
    }

    public String address() {
        return credentials.getAddress();
    }

    /** Signs a 32-byte digest as is (no message prefix): r || s || v, 65 bytes, as ecrecover takes it. */
    public byte[] signDigest(byte[] digest) {
        if (digest.length != 32) throw new IllegalArgumentException("a digest has 32 bytes, got " + digest.length);
        Sign.SignatureData sig = Sign.signMessage(digest, credentials.getEcKeyPair(), false);
        byte[] out = new byte[65];
        System.arraycopy(sig.getR(), 0, out, 0, 32);
        System.arraycopy(sig.getS(), 0, out, 32, 32);
        out[64] = sig.getV()[0];
        return out;
    }

    Credentials credentials() {
        return credentials;
    }

    @Override
    public String toString() {
        return "OracleKey[" + address() + "]";
    }
}

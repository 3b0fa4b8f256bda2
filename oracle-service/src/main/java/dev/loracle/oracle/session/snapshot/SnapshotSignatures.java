package dev.loracle.oracle.session.snapshot;

import dev.loracle.runtime.session.KvSnapshot;
import java.math.BigInteger;
import java.security.SignatureException;
import java.util.Arrays;
import org.web3j.crypto.Keys;
import org.web3j.crypto.Sign;

/** Who signed a snapshot: the address recovered from its secp256k1 signature (r || s || v) over {@code signingHash()}. */
final class SnapshotSignatures {
    private SnapshotSignatures() {
    }

    /** The signer's address, 0x-prefixed lower case; throws SnapshotRejection("bad_signature") when none can be recovered. */
    static String signer(KvSnapshot s) {
        byte[] sig = s.signature();
        if (sig.length != 65) throw new SnapshotRejection("bad_signature", "a signature has 65 bytes, this one " + sig.length);
        byte v = sig[64];
        if (v < 27) v += 27;
        try {
            BigInteger key = Sign.signedMessageHashToKey(s.signingHash(),
                    new Sign.SignatureData(v, Arrays.copyOfRange(sig, 0, 32), Arrays.copyOfRange(sig, 32, 64)));
            return "0x" + Keys.getAddress(key);
        } catch (SignatureException | RuntimeException e) {
            throw new SnapshotRejection("bad_signature", "no signer can be recovered: " + e.getMessage());
        }
    }
}

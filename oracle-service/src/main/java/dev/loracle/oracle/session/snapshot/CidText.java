package dev.loracle.oracle.session.snapshot;

import dev.loracle.ipfs.Cid;
import org.web3j.utils.Numeric;

/** A CID as the session path may write it: multibase text ({@code b...}, {@code Qm...}) or the on-chain bytes in 0x hex. */
final class CidText {
    private CidText() {
    }

    static Cid parse(String text) {
        String s = text.strip();
        return s.startsWith("0x") ? Cid.fromBytes(Numeric.hexStringToByteArray(s)) : Cid.parse(s);
    }
}

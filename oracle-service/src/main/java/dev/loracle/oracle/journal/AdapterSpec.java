package dev.loracle.oracle.journal;

import org.web3j.utils.Numeric;

import java.util.Arrays;
import java.util.HexFormat;

/** One adapter of a request: binary CID (as in the contract's Adapter.cid) and fixed-point weight (1e4 = 1.0). */
public record AdapterSpec(byte[] cid, int weight) {
    public AdapterSpec {
        cid = cid.clone();
    }

    @Override
    public byte[] cid() {
        return cid.clone();
    }

    public String cidHex() {
        return HexFormat.of().formatHex(cid);
    }

    public float weightAsFloat() {
        return weight / 10_000f;
    }

    /** Stored form: cidhex:weight. */
    String encode() {
        return cidHex() + ":" + weight;
    }

    static AdapterSpec decode(String s) {
        int colon = s.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("bad stored adapter '" + s + "'");
        return new AdapterSpec(Numeric.hexStringToByteArray(s.substring(0, colon)), Integer.parseInt(s.substring(colon + 1)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdapterSpec other && other.weight == weight && Arrays.equals(other.cid, cid);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(cid) * 31 + weight;
    }

    @Override
    public String toString() {
        return "AdapterSpec[cid=0x" + cidHex() + ", weight=" + weight + "]";
    }
}

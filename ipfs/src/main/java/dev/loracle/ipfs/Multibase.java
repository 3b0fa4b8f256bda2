package dev.loracle.ipfs;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;

/** The two multibase encodings CIDs use here: base32 (RFC 4648 lower case, no padding) and base58btc. */
public final class Multibase {
    private Multibase() {
    }

    private static final String BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
    private static final String BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private static final int[] BASE32_INDEX = index(BASE32);
    private static final int[] BASE58_INDEX = index(BASE58);

    private static int[] index(String alphabet) {
        int[] idx = new int[128];
        Arrays.fill(idx, -1);
        for (int i = 0; i < alphabet.length(); i++) {
            idx[alphabet.charAt(i)] = i;
        }
        return idx;
    }

    public static String base32(byte[] data) {
        StringBuilder sb = new StringBuilder((data.length * 8 + 4) / 5);
        int buffer = 0;
        int bits = 0;
        for (byte b : data) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                sb.append(BASE32.charAt((buffer >>> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        if (bits > 0) {
            sb.append(BASE32.charAt((buffer << (5 - bits)) & 31));
        }
        return sb.toString();
    }

    /** Decodes unpadded base32; upper case is accepted (multibase 'B' prefix). */
    public static byte[] decodeBase32(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() * 5 / 8);
        int buffer = 0;
        int bits = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = Character.toLowerCase(text.charAt(i));
            int v = c < 128 ? BASE32_INDEX[c] : -1;
            if (v < 0) {
                throw new InvalidCidException("invalid base32 character '" + text.charAt(i) + "' at position " + i);
            }
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8) {
                out.write((buffer >>> (bits - 8)) & 0xFF);
                bits -= 8;
            }
        }
        if (bits >= 5 || (buffer & ((1 << bits) - 1)) != 0) {
            throw new InvalidCidException("invalid base32 length or trailing bits");
        }
        return out.toByteArray();
    }

    public static String base58(byte[] data) {
        int zeros = 0;
        while (zeros < data.length && data[zeros] == 0) {
            zeros++;
        }
        StringBuilder sb = new StringBuilder();
        BigInteger value = new BigInteger(1, data);
        BigInteger base = BigInteger.valueOf(58);
        while (value.signum() > 0) {
            BigInteger[] qr = value.divideAndRemainder(base);
            sb.append(BASE58.charAt(qr[1].intValue()));
            value = qr[0];
        }
        sb.append("1".repeat(zeros));
        return sb.reverse().toString();
    }

    public static byte[] decodeBase58(String text) {
        BigInteger value = BigInteger.ZERO;
        BigInteger base = BigInteger.valueOf(58);
        int zeros = 0;
        while (zeros < text.length() && text.charAt(zeros) == '1') {
            zeros++;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int v = c < 128 ? BASE58_INDEX[c] : -1;
            if (v < 0) {
                throw new InvalidCidException("invalid base58btc character '" + c + "' at position " + i);
            }
            value = value.multiply(base).add(BigInteger.valueOf(v));
        }
        byte[] magnitude = value.signum() == 0 ? new byte[0] : value.toByteArray();
        int strip = magnitude.length > 0 && magnitude[0] == 0 ? 1 : 0;
        byte[] out = new byte[zeros + magnitude.length - strip];
        System.arraycopy(magnitude, strip, out, zeros, magnitude.length - strip);
        return out;
    }
}

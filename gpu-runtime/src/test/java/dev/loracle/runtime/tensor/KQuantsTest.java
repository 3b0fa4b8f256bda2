package dev.loracle.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * K-quant decoding against the block layouts of ggml-common.h, written here per element (which byte, which bits)
 * rather than per loop as the decoder does, over random blocks and over hand-built ones with known values.
 */
class KQuantsTest {

    private static int u8(byte[] b, int i) { return b[i] & 0xFF; }

    private static float f16(byte[] b, int i) { return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8)); }

    /** 6-bit scale (min = false) or min (min = true) of sub-block j, packed in the 12 bytes at s. */
    private static int packed6(byte[] b, int s, int j, boolean min) {
        if (j < 4) return u8(b, s + j + (min ? 4 : 0)) & 63;
        int lowNibbles = u8(b, s + j + 4);
        int low = min ? lowNibbles >> 4 : lowNibbles & 0xF;
        int high = u8(b, s + (min ? j : j - 4)) >> 6;
        return low | high << 4;
    }

    /** Element i of a Q4_K (hasHigh = false) or Q5_K block. */
    static float q45Element(byte[] b, int i, boolean hasHigh) {
        int group = i / 64, within = i % 64, sub = 2 * group + within / 32, l = within % 32;
        int qsStart = hasHigh ? 48 : 16;
        int qbyte = u8(b, qsStart + 32 * group + l);
        int q = within < 32 ? qbyte & 0xF : qbyte >> 4;
        if (hasHigh && (u8(b, 16 + l) >> sub & 1) != 0) q += 16;
        return f16(b, 0) * packed6(b, 4, sub, false) * q - f16(b, 2) * packed6(b, 4, sub, true);
    }

    /** Element i of a Q6_K block. */
    static float q6Element(byte[] b, int i) {
        int half = i / 128, within = i % 128, quarter = within / 32, l = within % 32;
        int lowByte = u8(b, 64 * half + (quarter % 2 == 1 ? 32 : 0) + l);
        int low = quarter >= 2 ? lowByte >> 4 : lowByte & 0xF;
        int high = u8(b, 128 + 32 * half + l) >> (2 * quarter) & 3;
        int scale = b[192 + 8 * half + 2 * quarter + l / 16];
        return f16(b, 208) * scale * ((low | high << 4) - 32);
    }

    private static byte[] randomBlock(GgmlType type, Random r) {
        byte[] b = new byte[type.blockBytes()];
        r.nextBytes(b);
        short d = Float.floatToFloat16(0.001f + r.nextFloat() * 0.05f), dmin = Float.floatToFloat16(r.nextFloat() * 0.02f);
        int dAt = type == GgmlType.Q6_K ? 208 : 0;
        b[dAt] = (byte) d;
        b[dAt + 1] = (byte) (d >> 8);
        if (type != GgmlType.Q6_K) {
            b[2] = (byte) dmin;
            b[3] = (byte) (dmin >> 8);
        }
        return b;
    }

    private static float[] decode(GgmlType type, byte[] blocks) {
        float[] out = new float[blocks.length / type.blockBytes() * 256];
        Quantization.dequantize(type, MemorySegment.ofArray(blocks), 0, out, 0, out.length);
        return out;
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q5_K", "Q6_K"})
    void randomBlocksDecodeAsTheLayoutDefines(GgmlType type) {
        Random r = new Random(12);
        int nBlocks = 3;
        byte[] all = new byte[nBlocks * type.blockBytes()];
        for (int k = 0; k < nBlocks; k++) System.arraycopy(randomBlock(type, r), 0, all, k * type.blockBytes(), type.blockBytes());
        float[] got = decode(type, all);
        for (int k = 0; k < nBlocks; k++) {
            byte[] b = java.util.Arrays.copyOfRange(all, k * type.blockBytes(), (k + 1) * type.blockBytes());
            for (int i = 0; i < 256; i++) {
                float want = type == GgmlType.Q6_K ? q6Element(b, i) : q45Element(b, i, type == GgmlType.Q5_K);
                assertEquals(want, got[k * 256 + i], 0f, type + " block " + k + " element " + i);
            }
        }
    }

    @Test
    void q4kHandBuiltBlock() {
        // d = 1, dmin = 0.5; sub-block 0: scale 2, min 1; sub-block 5 (j >= 4 packing): scale 0x2A = 42, min 0x13 = 19
        byte[] b = new byte[144];
        putF16(b, 0, 1f);
        putF16(b, 2, 0.5f);
        b[4] = 2;                          // scale 0 (low 6 bits of byte 0)
        b[8] = 1;                          // min 0 (low 6 bits of byte 4)
        b[4 + 9] = (byte) (0x3 << 4 | 0xA); // sub-block 5: low nibbles of scale (0xA) and min (0x3)
        b[4 + 1] = (byte) (2 << 6);        // high 2 bits of scale 5 (byte j-4 = 1): 0b10 -> 0x20
        b[4 + 5] = (byte) (1 << 6);        // high 2 bits of min 5 (byte j = 5): 0b01 -> 0x10
        b[16] = (byte) 0x07;               // element 0: q = 7 -> 1*2*7 - 0.5*1 = 13.5
        b[16 + 64 + 3] = (byte) 0x50;      // group 2, element 128 + 32 + 3 (sub-block 5): q = 5 -> 42*5 - 0.5*19 = 200.5
        float[] y = decode(GgmlType.Q4_K, b);
        assertEquals(13.5f, y[0]);
        assertEquals(-0.5f, y[1]);
        assertEquals(200.5f, y[128 + 32 + 3]);
        assertEquals(-9.5f, y[128 + 32 + 4]);
    }

    @Test
    void q6kHandBuiltBlock() {
        byte[] b = new byte[210];
        putF16(b, 208, 0.25f);
        b[192 + 8 + 4] = -3;            // second half, quarter 2, first 16: scale -3
        b[64 + 5] = (byte) 0x90;        // second half, element 128 + 64 + 5 takes the high nibble 9 of ql[64 + 5]
        b[128 + 32 + 5] = (byte) (2 << 4); // and bits 4..5 of qh[32 + 5] = 2 -> q = 9 | 2 << 4 = 41 -> 41 - 32 = 9
        float[] y = decode(GgmlType.Q6_K, b);
        assertEquals(0.25f * -3 * 9, y[128 + 64 + 5]);
        assertEquals(-0f, y[0]); // scale 0 times q - 32 = -32
    }

    @Test
    void bf16IsTheTopHalfOfFloat32() {
        float[] values = {1f, -2.5f, 3.140625f, Float.MIN_NORMAL, -0f, 65504f};
        MemorySegment s = Arena.ofAuto().allocate(2L * values.length);
        for (int i = 0; i < values.length; i++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) (Float.floatToRawIntBits(values[i]) >>> 16));
        float[] out = new float[values.length];
        Quantization.dequantize(GgmlType.BF16, s, 0, out, 0, values.length);
        for (int i = 0; i < values.length; i++) assertEquals(Float.intBitsToFloat(Float.floatToRawIntBits(values[i]) & 0xFFFF0000), out[i]);
    }

    @Test
    void kQuantTensorsNeedWholeSuperBlocks() {
        assertThrows(IllegalArgumentException.class, () -> Quantization.dequantize(GgmlType.Q4_K, MemorySegment.ofArray(new byte[144]), 0, new float[128], 0, 128));
        assertTrue(GgmlType.Q4_K.decodable() && GgmlType.Q4_K.supported() && GgmlType.Q4_K.kQuant());
        assertTrue(GgmlType.BF16.decodable() && !GgmlType.BF16.supported());
    }

    private static void putF16(byte[] b, int at, float v) {
        short h = Float.floatToFloat16(v);
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >> 8);
    }
}

package dev.loracle.ipfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class CidTest {
    // CID spec example (cid.ipfs.tech) and its CIDv0 form. The pairs were cross-checked with the JS reference
    // implementation (npm multiformats, CID.parse(..).toV0()/toV1()): bafybeigdyrzt5s... is QmbWqxBE..., and the
    // docs' QmY7Yh4U... is bafybeierhgbz4zp... (they are two different contents, not one pair).
    private static final String SPEC_V1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    private static final String SPEC_V0 = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR";
    private static final String DOCS_V0 = "QmY7Yh4UquoXHLPFo2XbhXkhBvFoPwmQUSa92pxnxjQuPU";
    private static final String DOCS_V1 = "bafybeierhgbz4zp2x2u67urqrgfnrnlukciupzenpqpipiz5nwtq7uxpx4";
    // local-stack.md reference CIDs for the 12-byte "hello world\n".
    private static final String HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
    private static final String HELLO_V1_RAW = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
    private static final String EMPTY_FILE_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH";

    @Test
    void specExampleV0AndV1AreTheSameContent() {
        Cid v1 = Cid.parse(SPEC_V1);
        Cid v0 = Cid.parse(SPEC_V0);
        assertEquals(1, v1.version());
        assertEquals(0, v0.version());
        assertEquals(Cid.Codec.DAG_PB, v1.codec());
        assertEquals(SPEC_V0, v1.toV0().toString());
        assertEquals(SPEC_V1, v0.toV1().toString());
        assertArrayEquals(v0.digest(), v1.digest());
        assertNotEquals(v0, v1);
        assertEquals(v0.toV1(), v1);
        assertEquals(DOCS_V1, Cid.parse(DOCS_V0).toV1().toString());
        assertEquals(DOCS_V0, Cid.parse(DOCS_V1).toV0().toString());
        assertNotEquals(Cid.parse(DOCS_V0).toV1(), v1);
    }

    @Test
    void roundTripsTextAndBinary() {
        for (String s : new String[]{SPEC_V1, SPEC_V0, DOCS_V0, DOCS_V1, HELLO_V0, HELLO_V1_RAW, EMPTY_FILE_V0}) {
            Cid cid = Cid.parse(s);
            assertEquals(s, cid.toString());
            assertEquals(cid, Cid.fromBytes(cid.toBytes()));
            if (cid.version() == 1) {
                assertEquals(cid, Cid.parse(cid.toBase58btc()));
                assertTrue(cid.toBase58btc().startsWith("z"));
                assertEquals(cid, Cid.parse(s.toUpperCase().replaceFirst("^B", "B")));
            }
        }
    }

    @Test
    void binaryLayout() {
        Cid raw = Cid.parse(HELLO_V1_RAW);
        byte[] bytes = raw.toBytes();
        assertEquals(36, bytes.length);
        assertEquals("01551220", HexFormat.of().formatHex(bytes, 0, 4));
        byte[] v0 = Cid.parse(HELLO_V0).toBytes();
        assertEquals(34, v0.length);
        assertEquals("1220", HexFormat.of().formatHex(v0, 0, 2));
    }

    @Test
    void rawCidOfBytesMatchesTheNodesCid() {
        // A 12-byte file added with raw leaves is a single raw block: its CID is the sha2-256 of the bytes.
        Cid computed = Cid.ofBlock(Cid.Codec.RAW, "hello world\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(HELLO_V1_RAW, computed.toString());
        assertTrue(computed.matches("hello world\n".getBytes(StandardCharsets.UTF_8)));
        assertTrue(!computed.matches("hello world!".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void js_ipfsBase58V1FormParses() {
        // js-ipfs prints CIDv1 in base58btc ("zb2...") in some responses (pin/add, ls).
        Cid cid = Cid.parse("zb2rhi36Gc9GJWijLEL6zW45MBux5FcFv5gJmjXA7VAMozEXY");
        assertEquals(HELLO_V1_RAW, cid.toString());
    }

    @Test
    void rejectsOtherHashesCodecsAndGarbageClearly() {
        // CIDv1 dag-cbor (0x71)
        InvalidCidException cbor = assertThrows(InvalidCidException.class,
                () -> Cid.parse("bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae"));
        assertTrue(cbor.getMessage().contains("codec 0x71"), cbor.getMessage());
        // raw + identity multihash
        byte[] identityBytes = {1, 0x55, 0x00, 5, 'h', 'e', 'l', 'l', 'o'};
        String identityText = "b" + Multibase.base32(identityBytes);
        assertTrue(identityText.startsWith("bafkqa"), identityText);
        InvalidCidException identity = assertThrows(InvalidCidException.class, () -> Cid.parse(identityText));
        assertTrue(identity.getMessage().contains("multihash function 0x0"), identity.getMessage());
        // raw + sha2-512 (0x13)
        byte[] sha512 = new byte[4 + 64];
        sha512[0] = 1;
        sha512[1] = 0x55;
        sha512[2] = 0x13;
        sha512[3] = 64;
        InvalidCidException s512 = assertThrows(InvalidCidException.class, () -> Cid.fromBytes(sha512));
        assertTrue(s512.getMessage().contains("sha2-256"), s512.getMessage());
        assertThrows(InvalidCidException.class, () -> Cid.parse(""));
        assertThrows(InvalidCidException.class, () -> Cid.parse("Qm0OIl"));
        InvalidCidException base = assertThrows(InvalidCidException.class, () -> Cid.parse("mAXASIA"));
        assertTrue(base.getMessage().contains("expected CIDv0"), base.getMessage());
        assertThrows(InvalidCidException.class, () -> Cid.parse("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd1"));
        assertThrows(InvalidCidException.class, () -> Cid.fromBytes(new byte[]{1, 0x70, 0x12, 0x20, 1, 2}));
        assertThrows(InvalidCidException.class, () -> Cid.of(Cid.Codec.RAW, new byte[31]));
        assertThrows(InvalidCidException.class, () -> Cid.parse(HELLO_V1_RAW).toV0());
    }
}

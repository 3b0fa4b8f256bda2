package dev.loracle.contracts;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class CidBytesTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final String DIGEST = "e3".repeat(32);

    @Test
    void acceptsTheFormsTheCoordinatorAccepts() {
        assertTrue(CidBytes.isValid(HEX.parseHex("1220" + DIGEST)));
        assertTrue(CidBytes.isValid(HEX.parseHex("01551220" + DIGEST)));
        assertTrue(CidBytes.isValid(HEX.parseHex("01701220" + DIGEST)));
    }

    @Test
    void rejectsOtherFormsWithAReason() {
        String[] bad = {"", "1220" + DIGEST + "00", "1320" + DIGEST, "1221" + DIGEST, "01711220" + DIGEST,
            "02551220" + DIGEST, "01551320" + DIGEST};
        for (String hex : bad) {
            assertFalse(CidBytes.isValid(HEX.parseHex(hex)), hex);
            IllegalArgumentException error =
                    assertThrows(IllegalArgumentException.class, () -> CidBytes.requireValid(HEX.parseHex(hex)));
            assertTrue(error.getMessage().startsWith("invalid adapter CID: "), error.getMessage());
        }
        assertFalse(CidBytes.isValid(null));
    }
}

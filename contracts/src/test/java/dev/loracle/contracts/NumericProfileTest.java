package dev.loracle.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class NumericProfileTest {
    @Test
    void roundTripsAndNormalisesCase() {
        NumericProfile p = NumericProfile.parse("kv=f32;quant=q8_0;attach=Merged");
        assertEquals(new NumericProfile("Q8_0", "MERGED", "F32"), p);
        assertEquals("quant=Q8_0;attach=MERGED;kv=F32", p.toString());
        assertEquals(p, NumericProfile.parse(p.toString()));
    }

    @Test
    void rejectsMissingDuplicateUnknownAndEmptyParts() {
        for (String bad : new String[] {"quant=F32;attach=MERGED", "quant=F32;quant=F32;attach=MERGED;kv=F32",
                "quant=F32;attach=MERGED;kv=F32;extra=1", "quant=;attach=MERGED;kv=F32", "F32/MERGED/F32", ""}) {
            assertThrows(IllegalArgumentException.class, () -> NumericProfile.parse(bad), bad);
        }
    }
}

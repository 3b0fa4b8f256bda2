package dev.loracle.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class FailureCodeTest {
    private static final Pattern CONSTANT =
            Pattern.compile("uint16 internal constant ([A-Z_]+) = (\\d+);");

    /** The Java enum and the Solidity library must list the same names with the same values. */
    @Test
    void mirrorsTheSolidityLibrary() throws Exception {
        String source = Files.readString(Path.of("contracts/libraries/FailureCodes.sol"));
        Map<String, Integer> solidity = new LinkedHashMap<>();
        Matcher matcher = CONSTANT.matcher(source);
        while (matcher.find()) {
            if (!matcher.group(1).equals("MAX_CODE")) {
                solidity.put(matcher.group(1), Integer.parseInt(matcher.group(2)));
            }
        }
        Map<String, Integer> java = new LinkedHashMap<>();
        for (FailureCode code : FailureCode.values()) {
            java.put(code.name(), code.code());
        }
        assertEquals(solidity, java);
    }

    @Test
    void looksUpCodes() {
        assertEquals(FailureCode.INVALID_CID, FailureCode.fromCode(1));
        assertEquals(FailureCode.INTERNAL_ERROR, FailureCode.fromCode(10));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> FailureCode.fromCode(11));
        assertEquals("unknown failure code 11 (expected 1..10)", error.getMessage());
    }
}

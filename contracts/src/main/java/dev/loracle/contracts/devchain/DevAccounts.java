package dev.loracle.contracts.devchain;

import java.util.List;
import java.util.stream.IntStream;
import org.web3j.crypto.Bip32ECKeyPair;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.MnemonicUtils;

/**
 * The prefunded accounts of a local dev chain (Anvil, Hardhat): derived from the public test mnemonic along
 * {@code m/44'/60'/0'/0/i}. Never use them outside a local chain: their keys are public.
 */
public final class DevAccounts {
    /** The well-known public mnemonic both Anvil and Hardhat fund by default. */
    public static final String TEST_MNEMONIC = "test test test test test test test test test test test junk";
    /** Anvil's default number of funded accounts. */
    public static final int COUNT = 10;

    private static final List<Credentials> ACCOUNTS = deriveAll();

    private DevAccounts() {}

    /** Account {@code index} (0..9); account 0 is Anvil's default sender. */
    public static Credentials get(int index) {
        if (index < 0 || index >= COUNT) {
            throw new IllegalArgumentException("dev account index " + index + " outside 0.." + (COUNT - 1));
        }
        return ACCOUNTS.get(index);
    }

    /** All ten accounts, in derivation order. */
    public static List<Credentials> all() {
        return ACCOUNTS;
    }

    private static List<Credentials> deriveAll() {
        Bip32ECKeyPair master = Bip32ECKeyPair.generateKeyPair(MnemonicUtils.generateSeed(TEST_MNEMONIC, ""));
        int hardened = Bip32ECKeyPair.HARDENED_BIT;
        return IntStream.range(0, COUNT)
                .mapToObj(index -> new int[] {44 | hardened, 60 | hardened, hardened, 0, index})
                .map(path -> Credentials.create(Bip32ECKeyPair.deriveKeyPair(master, path)))
                .toList();
    }
}

package dev.loracle.contracts.devchain;

/** Started in a child JVM by AnvilProcessTest: starts anvil, prints its pid and exits without closing it. */
public final class AnvilExitProbe {
    private AnvilExitProbe() {}

    public static void main(String[] args) {
        AnvilProcess anvil = AnvilProcess.start();
        System.out.println(anvil.pid());
        System.out.flush();
        System.exit(0);
    }
}

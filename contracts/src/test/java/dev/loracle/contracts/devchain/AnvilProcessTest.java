package dev.loracle.contracts.devchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.response.EthBlock;
import org.web3j.protocol.core.methods.response.EthSendTransaction;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.tx.response.PollingTransactionReceiptProcessor;
import org.web3j.utils.Numeric;

class AnvilProcessTest {

    @Test
    void startsOnAFreePortWithTheDevAccounts() throws Exception {
        try (AnvilProcess first = AnvilProcess.start(); AnvilProcess second = AnvilProcess.start()) {
            assertNotEquals(first.port(), second.port());
            assertEquals("ws://127.0.0.1:" + first.port(), first.wsUrl());
            Web3j web3j = first.web3j();
            assertEquals(BigInteger.valueOf(31337), web3j.ethChainId().send().getChainId());
            List<String> nodeAccounts = web3j.ethAccounts().send().getAccounts();
            assertEquals(10, nodeAccounts.size());
            for (int i = 0; i < 10; i++) {
                assertEquals(nodeAccounts.get(i).toLowerCase(), first.account(i).getAddress().toLowerCase());
            }
            // Account 0 of the public test mnemonic, as every Ethereum dev tool documents it.
            assertEquals("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", first.account(0).getAddress());
            assertEquals(66, first.privateKeys().getFirst().length());
        }
    }

    @Test
    void minesOnDemandWithAutomineOffAndSnapshotsState() throws Exception {
        try (AnvilProcess anvil = AnvilProcess.start()) {
            Web3j web3j = anvil.web3j();
            BigInteger start = anvil.blockNumber();
            anvil.mine(3);
            assertEquals(start.add(BigInteger.valueOf(3)), anvil.blockNumber());

            String snapshot = anvil.snapshot();
            anvil.setAutomine(false);
            String txHash = sendValue(anvil, 0, anvil.account(5).getAddress(), BigInteger.ONE);
            assertTrue(web3j.ethGetTransactionReceipt(txHash).send().getTransactionReceipt().isEmpty());
            anvil.mine(1);
            assertEquals(anvil.blockNumber(), new PollingTransactionReceiptProcessor(web3j, 20, 250)
                    .waitForTransactionReceipt(txHash).getBlockNumber());
            assertEquals(start.add(BigInteger.valueOf(4)), anvil.blockNumber());

            assertTrue(anvil.revert(snapshot));
            assertEquals(start.add(BigInteger.valueOf(3)), anvil.blockNumber());
            assertTrue(web3j.ethGetTransactionReceipt(txHash).send().getTransactionReceipt().isEmpty());
        }
    }

    @Test
    void reorgReplacesRecentBlocks() throws Exception {
        try (AnvilProcess anvil = AnvilProcess.start()) {
            Web3j web3j = anvil.web3j();
            anvil.mine(5);
            String txHash = sendValue(anvil, 0, anvil.account(6).getAddress(), BigInteger.TEN);
            // Automine puts the transaction in a block, but the receipt can be indexed a moment after the send returns.
            BigInteger txBlock = new PollingTransactionReceiptProcessor(web3j, 20, 250)
                    .waitForTransactionReceipt(txHash).getBlockNumber();
            String hashBefore = blockAt(web3j, txBlock).getHash();
            anvil.reorg(2);
            assertNotEquals(hashBefore, blockAt(web3j, txBlock).getHash());
            assertEquals(txBlock, anvil.blockNumber());
            assertFalse(blockAt(web3j, txBlock).getTransactions().stream()
                    .anyMatch(t -> t.get().equals(txHash)));
        }
    }

    @Test
    void increaseTimeMovesTheClock() throws Exception {
        try (AnvilProcess anvil = AnvilProcess.start()) {
            BigInteger before = blockAt(anvil.web3j(), anvil.blockNumber()).getTimestamp();
            anvil.increaseTime(3600);
            anvil.mine(1);
            BigInteger after = blockAt(anvil.web3j(), anvil.blockNumber()).getTimestamp();
            assertTrue(after.subtract(before).longValueExact() >= 3600);
        }
    }

    @Test
    void intervalMiningProducesBlocksWithoutTransactions() throws Exception {
        try (AnvilProcess anvil = AnvilProcess.builder().blockTime(1).start()) {
            BigInteger start = anvil.blockNumber();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (anvil.blockNumber().compareTo(start) <= 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(anvil.blockNumber().compareTo(start) > 0);
        }
    }

    @Test
    void killStopsTheNodeAtOnce() throws Exception {
        AnvilProcess anvil = AnvilProcess.start();
        try {
            assertTrue(anvil.isAlive());
            anvil.kill();
            assertFalse(anvil.isAlive());
            assertThrows(Exception.class, () -> anvil.web3j().ethBlockNumber().send());
        } finally {
            anvil.close();
        }
    }

    @Test
    void doesNotOutliveAJvmThatForgotToCloseIt() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                "-Dloracle.root=" + AnvilProcess.repoRoot(), AnvilExitProbe.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String pidLine = new String(child.getInputStream().readAllBytes()).trim();
        assertEquals(0, child.waitFor());
        long anvilPid = Long.parseLong(pidLine.lines().reduce((first, second) -> second).orElseThrow());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (ProcessHandle.of(anvilPid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(ProcessHandle.of(anvilPid).map(ProcessHandle::isAlive).orElse(false), "anvil " + anvilPid);
    }

    @Test
    void reportsAMissingBinaryClearly(@TempDir Path dir) {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> AnvilProcess.builder().binary(dir.resolve("no-anvil")).start());
        assertTrue(error.getMessage().contains("anvil binary not found"), error.getMessage());
    }

    @Test
    void reportsAnExitAtStartupWithItsOutput(@TempDir Path dir) throws Exception {
        try (AnvilProcess holder = AnvilProcess.start()) {
            IllegalStateException error = assertThrows(IllegalStateException.class,
                    () -> AnvilProcess.builder().port(holder.port()).start());
            assertTrue(error.getMessage().contains("anvil exited"), error.getMessage());
        }
        Path fake = dir.resolve("fake-anvil");
        Files.writeString(fake, "#!/bin/sh\necho broken >&2\nexit 3\n");
        assertTrue(fake.toFile().setExecutable(true));
        IllegalStateException error =
                assertThrows(IllegalStateException.class, () -> AnvilProcess.builder().binary(fake).start());
        assertTrue(error.getMessage().contains("broken"), error.getMessage());
    }

    private static EthBlock.Block blockAt(Web3j web3j, BigInteger number) throws Exception {
        return web3j.ethGetBlockByNumber(DefaultBlockParameter.valueOf(number), false).send().getBlock();
    }

    private static String sendValue(AnvilProcess anvil, int fromIndex, String to, BigInteger wei) throws Exception {
        var from = anvil.account(fromIndex);
        BigInteger nonce = anvil.web3j().ethGetTransactionCount(from.getAddress(), DefaultBlockParameterName.PENDING)
                .send().getTransactionCount();
        RawTransaction tx = RawTransaction.createEtherTransaction(nonce, BigInteger.valueOf(20_000_000_000L),
                BigInteger.valueOf(21_000), to, wei);
        byte[] signed = TransactionEncoder.signMessage(tx, anvil.chainId(), from);
        EthSendTransaction sent = anvil.web3j().ethSendRawTransaction(Numeric.toHexString(signed)).send();
        if (sent.hasError()) {
            throw new IllegalStateException(sent.getError().getMessage());
        }
        return sent.getTransactionHash();
    }
}

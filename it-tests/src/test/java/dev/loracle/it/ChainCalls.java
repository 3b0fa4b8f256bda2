package dev.loracle.it;

import java.io.IOException;
import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.Type;
import org.web3j.crypto.Hash;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.Transaction;
import org.web3j.protocol.core.methods.response.EthCall;
import org.web3j.protocol.core.methods.response.EthSendTransaction;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.tx.TransactionManager;

/** Raw transactions and calls for contracts without generated wrappers, and custom-error checks. */
final class ChainCalls {
    static final BigInteger GAS_PRICE = BigInteger.valueOf(20_000_000_000L);
    static final BigInteger GAS_LIMIT = BigInteger.valueOf(10_000_000L);

    private ChainCalls() {}

    /** Sends {@code data} to {@code to} (null: contract creation) and waits for the receipt. */
    static TransactionReceipt send(Web3j web3j, TransactionManager tm, String to, String data, BigInteger value)
            throws IOException, InterruptedException {
        EthSendTransaction sent = tm.sendTransaction(GAS_PRICE, GAS_LIMIT, to, data, value, to == null);
        if (sent.hasError()) {
            throw new IllegalStateException("transaction rejected: " + sent.getError().getMessage());
        }
        return awaitReceipt(web3j, sent.getTransactionHash(), Duration.ofSeconds(60));
    }

    static TransactionReceipt awaitReceipt(Web3j web3j, String txHash, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<TransactionReceipt> receipt = web3j.ethGetTransactionReceipt(txHash).send().getTransactionReceipt();
            if (receipt.isPresent()) {
                return receipt.get();
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no receipt for " + txHash + " within " + timeout.toSeconds() + " s");
    }

    /** eth_call of a view function; returns the decoded outputs. */
    @SuppressWarnings("rawtypes")
    static List<Type> call(Web3j web3j, String to, String name, List<TypeReference<?>> outputs) throws IOException {
        Function f = new Function(name, List.of(), outputs);
        EthCall result = web3j.ethCall(Transaction.createEthCallTransaction(null, to, FunctionEncoder.encode(f)),
                DefaultBlockParameterName.LATEST).send();
        if (result.hasError() || result.isReverted()) {
            throw new IllegalStateException(name + "() failed: " + (result.hasError()
                    ? result.getError().getMessage() : result.getRevertReason()));
        }
        return FunctionReturnDecoder.decode(result.getValue(), f.getOutputParameters());
    }

    /**
     * Simulates a transaction with eth_call and returns the 4-byte selector of the custom error it reverts with
     * (0x-hex), or empty if it does not revert.
     */
    static Optional<String> revertSelector(Web3j web3j, String from, String to, String data, BigInteger value)
            throws IOException {
        EthCall result = web3j.ethCall(Transaction.createFunctionCallTransaction(from, null, null, GAS_LIMIT, to,
                value, data), DefaultBlockParameterName.LATEST).send();
        String revertData = null;
        if (result.hasError()) {
            Object d = result.getError().getData();
            revertData = d == null ? null : d.toString().replace("\"", "");
            if (revertData == null) {
                throw new IllegalStateException("eth_call failed without revert data: " + result.getError().getMessage());
            }
        } else if (result.isReverted()) {
            revertData = result.getValue();
        }
        if (revertData == null) {
            return Optional.empty();
        }
        return Optional.of(revertData.length() >= 10 ? revertData.substring(0, 10) : revertData);
    }

    /** 0x-selector of a custom error signature such as {@code "NoAdapters()"}. */
    static String selector(String signature) {
        return Hash.sha3String(signature).substring(0, 10);
    }
}

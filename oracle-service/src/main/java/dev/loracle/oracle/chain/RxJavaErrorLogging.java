package dev.loracle.oracle.chain;

import io.reactivex.exceptions.UndeliverableException;
import io.reactivex.plugins.RxJavaPlugins;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * web3j's WebSocket client reports "connection closed" through RxJava after its subscriber is gone (at shutdown, or
 * while a reconnect is under way); without a handler RxJava prints each one as an uncaught exception with a stack
 * trace. The ingestor already handles disconnects, so these are logged at debug; anything else stays a warning.
 */
@Component
class RxJavaErrorLogging {
    private static final Logger log = LoggerFactory.getLogger(RxJavaErrorLogging.class);

    RxJavaErrorLogging() {
        RxJavaPlugins.setErrorHandler(e -> {
            if (e instanceof UndeliverableException) log.debug("undeliverable RxJava error after unsubscribe: {}", e.getCause().toString());
            else log.warn("RxJava background error", e);
        });
    }
}

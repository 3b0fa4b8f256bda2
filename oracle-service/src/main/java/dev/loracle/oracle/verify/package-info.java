/** {@code loracle verify}: anyone can re-execute a fulfilled request and check the oracle's output. */
package dev.loracle.oracle.verify;

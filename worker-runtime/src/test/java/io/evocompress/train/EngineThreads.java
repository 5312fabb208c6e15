package io.evocompress.train;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Runs PyTorch's intra-op work on one thread while open, restoring the previous count on close. The
 * training tests use it because on a busy shared machine two OpenMP threads spin-wait for each other
 * and small-matrix training slows down 20-fold, and because one thread makes CPU results bitwise
 * repeatable. It changes speed, never what a test asserts.
 */
public final class EngineThreads implements AutoCloseable {
    private final int previous;

    private EngineThreads(int threads) {
        Engine.getInstance(); // loads the native library
        previous = JniUtils.getNumThreads();
        JniUtils.setNumThreads(threads);
    }

    public static EngineThreads single() {
        return new EngineThreads(1);
    }

    @Override
    public void close() {
        JniUtils.setNumThreads(previous);
    }
}

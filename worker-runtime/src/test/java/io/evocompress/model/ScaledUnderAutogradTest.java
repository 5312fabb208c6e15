package io.evocompress.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The attention's constant scale survives garbage collection between forward and backward: DJL's
 * {@code mul(Number)} puts the constant in a Java direct buffer that it releases on return while
 * autograd still holds it for the backward pass; once a GC frees the buffer and the memory is
 * reused, the gradient is wrong (found as DarwinLM fine-tuning that did not repeat, and NaN now and
 * then). {@link DecoderBlock#scaled} must give the exact gradient however much memory is churned.
 */
class ScaledUnderAutogradTest {
    static final float FACTOR = 0.125f;

    @Test
    void gradientOfAScaledProductIsExactAfterTheConstantsBufferIsCollected() throws Exception {
        int wrong = 0;
        for (int round = 0; round < 20; round++) {
            try (NDManager manager = NDManager.newBaseManager()) {
                ai.djl.pytorch.jni.JniUtils.setGradMode(false);
                NDArray x = manager.ones(new Shape(64, 64), DataType.FLOAT32);
                x.setRequiresGradient(true);
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray y = DecoderBlock.scaled(x, FACTOR);
                    churn();
                    collector.backward(y.sum());
                }
                float[] g = x.getGradient().toFloatArray();
                for (float v : g) {
                    if (v != FACTOR) {
                        wrong++;
                        break;
                    }
                }
            }
        }
        assertEquals(0, wrong, "rounds whose gradient was not exactly the constant");
    }

    /** Frees unreachable direct buffers and reuses their memory with other values. */
    private static void churn() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            List<ByteBuffer> filler = new ArrayList<>();
            for (int k = 0; k < 2000; k++) {
                ByteBuffer b = ByteBuffer.allocateDirect(4 + (k % 13) * 4);
                while (b.remaining() >= 4) {
                    b.putFloat(1.0e30f);
                }
                filler.add(b);
            }
        }
    }
}

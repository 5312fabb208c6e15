package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A loaded model's weight manager lives as long as the model (an executor keeps it across tasks), so
 * nothing a forward computes may attach to it: with the manager capped (DJL's {@code NDManager.cap()},
 * which makes any new attachment throw), repeated forwards must run and give the uncapped logits.
 * A forward that leaked a temporary into the model's manager would fail here instead of slowly
 * growing an executor's memory.
 */
class CappedManagerTest {

    @Test
    void forwardsAttachNothingToTheModelsLongLivedManager() {
        int[] ids = new int[64];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + (i * 37) % 500;
        }
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm model = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32)) {
            float[] uncapped;
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                uncapped = model.logits(m.create(ids, new Shape(1, ids.length))).toFloatArray();
            }
            model.manager().cap();
            assertThrows(IllegalStateException.class, () -> model.manager().create(new float[]{1f}),
                "a capped manager refuses new arrays, so the check below can fail");
            for (int round = 0; round < 3; round++) {
                try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                    NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)));
                    assertArrayEquals(uncapped, logits.toFloatArray(), 0f, "round " + round);
                }
            }
        }
    }
}

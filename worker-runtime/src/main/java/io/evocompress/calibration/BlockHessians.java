package io.evocompress.calibration;

import io.evocompress.model.LinearName;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * The calibration statistics of one decoder block, one {@link InputStatistics} per distinct input:
 * q/k/v share one, gate/up share one.
 *
 * @param block  the block's index in the model
 * @param inputs statistics per input group (all four present)
 */
public record BlockHessians(int block, Map<InputGroup, InputStatistics> inputs) {
    public BlockHessians {
        for (InputGroup group : InputGroup.values()) {
            if (!inputs.containsKey(group)) {
                throw new IllegalArgumentException("Block " + block + " has no statistics for input group " + group);
            }
        }
        inputs = Collections.unmodifiableMap(new EnumMap<>(inputs));
    }

    /** The statistics of the input {@code layer} reads (the same object for layers that share it). */
    public InputStatistics forLayer(LinearName layer) {
        return inputs.get(InputGroup.of(layer));
    }

    public Hessian hessian(LinearName layer) {
        return forLayer(layer).hessian();
    }
}

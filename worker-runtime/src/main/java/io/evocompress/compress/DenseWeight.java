package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import io.evocompress.device.EngineTransfer;

/**
 * A linear weight [rows = out, columns = in] copied out of an NDArray as float32, row-major, in row
 * slices where it is over 256 MiB ({@link EngineTransfer}).
 */
record DenseWeight(int rows, int columns, float[] values, Device device) {

    static DenseWeight of(NDArray weight) {
        Shape s = weight.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("A linear weight must be 2-D [out, in], but has shape " + s);
        }
        float[] values = weight.getDataType() == DataType.FLOAT32
            ? EngineTransfer.toFloatArray(weight)
            : toFloat32(weight);
        return new DenseWeight(Math.toIntExact(s.get(0)), Math.toIntExact(s.get(1)), values, weight.getDevice());
    }

    private static float[] toFloat32(NDArray weight) {
        try (NDArray f = weight.toType(DataType.FLOAT32, true)) {
            return EngineTransfer.toFloatArray(f);
        }
    }

    void checkInputs(Hessian hessian) {
        if (hessian.dim() != columns) {
            throw new IllegalArgumentException("The Hessian is " + hessian.dim() + " x " + hessian.dim()
                + " but the weight has " + columns + " input features: use the Hessian of this layer's input");
        }
    }
}

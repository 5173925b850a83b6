/// Exact sums and differences of `ExactDecimal` quantities (billed hours), for corrections:
/// scales are aligned, never rounded; overflow is an error.
enum RollupDecimal {
    static func add(_ lhs: ExactDecimal, _ rhs: ExactDecimal) throws -> ExactDecimal {
        let scale = max(lhs.scale, rhs.scale)
        return ExactDecimal(units: try MoneyMath.add(try scaled(lhs, to: scale), try scaled(rhs, to: scale)), scale: scale).normalized
    }

    static func subtract(_ lhs: ExactDecimal, _ rhs: ExactDecimal) throws -> ExactDecimal {
        try add(lhs, ExactDecimal(units: -rhs.units, scale: rhs.scale))
    }

    static func sum(_ values: [ExactDecimal]) throws -> ExactDecimal {
        try values.reduce(ExactDecimal(0)) { try add($0, $1) }
    }

    private static func scaled(_ value: ExactDecimal, to scale: Int) throws -> Int64 {
        var units = value.units
        for _ in value.scale..<scale { units = try MoneyMath.multiply(units, 10) }
        return units
    }
}

import BillingCore
import Testing

@Suite("JSON values for reports")
struct JSONValueTests {
    @Test("objects keep key order and escape strings")
    func serialization() {
        let value: JSONValue = .object([("b", 1), ("a", .string("quote \" backslash \\ newline \n tab \t \u{01}")), ("c", [true, nil, .decimal("2.25")])])
        #expect(value.compactText == #"{"b":1,"a":"quote \" backslash \\ newline \n tab \t \u0001","c":[true,null,2.25]}"#)
        #expect(value.prettyText.contains("\n  \"b\": 1,"))
    }

    @Test("parsing returns exact numbers and the same structure")
    func parsing() throws {
        let text = #"{"counts": {"invoices": 3}, "hours": 2.25, "name": "Caf\u00e9 \ud83d\ude00", "list": [1, -2, null, false]}"#
        let value = try JSONValue(parsing: text)
        #expect(value["counts"]?["invoices"]?.intValue == 3)
        #expect(value["hours"] == .decimal("2.25"))
        #expect(value["name"]?.stringValue == "Café 😀")
        #expect(value["list"] == [1, -2, nil, false])
        #expect(try JSONValue(parsing: value.compactText) == value)
        #expect(throws: BillingError.self) { try JSONValue(parsing: "{\"a\": 1") }
        #expect(throws: BillingError.self) { try JSONValue(parsing: "[1] x") }
    }
}

package helper

// DecodeCredentials is decodeCredentials, for the fuzz test.
var DecodeCredentials = decodeCredentials

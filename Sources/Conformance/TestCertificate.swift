/// A self-signed certificate (CN `*`, SANs `*`, `*.org`, `*.wildcard.org`, `example.com`) used
/// for the Secrets and ConfigMaps the upstream suite creates in code (base/programmatic-objects.json).
/// The upstream suite generates fresh ones per run; Sluice does not serve TLS listeners yet, so a fixed
/// pair is enough for their references to resolve. Generated with
/// `openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=*" -addext "subjectAltName=DNS:*,DNS:*.org,DNS:*.wildcard.org,DNS:example.com"`.
enum TestCertificate {
    static let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIDLzCCAhegAwIBAgIUGlbRN/2w0ZAMI/yT8Cu3QHIuyWYwDQYJKoZIhvcNAQEL
BQAwDDEKMAgGA1UEAwwBKjAgFw0yNjExMjEyMzA5NDFaGA8yMTI2MTAyODIzMDk0
MVowDDEKMAgGA1UEAwwBKjCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB
AKNqks77UGS8yTVp9yKZvX0DQN+j09OAcbIyWf1zlmr2V/hsgNILulJHRtXpKISt
yJqT0p3eiwWn3hfFkgXZcOMiZPzTiXz9sk8+Pt++IXXvCdDUFKOVu0JwiR/KMZZ1
Shk7nbPn9l+VhsjnlftuyJK38+x0NH9e+KGbiyiiNS/hTrM7Sp9DojypcSFGa2/x
gEgD9tuZrJhOZT3xjbu2TaD5VnQuKRvozF7sWhF1ojsUwCD7AH5L69mosPvpVVR9
y/0vF/FBpSUw7xAqJPmJBaunlFdwgpXlYv6c8+C8ascvIS74MdhaJnQMgf1plvUg
UY61r2ITQo6R3nlp0fWgr18CAwEAAaOBhjCBgzAdBgNVHQ4EFgQUL3OETz0IkSP9
1njHSGxiFZQ6m5MwHwYDVR0jBBgwFoAUL3OETz0IkSP91njHSGxiFZQ6m5MwDwYD
VR0TAQH/BAUwAwEB/zAwBgNVHREEKTAnggEqggUqLm9yZ4IOKi53aWxkY2FyZC5v
cmeCC2V4YW1wbGUuY29tMA0GCSqGSIb3DQEBCwUAA4IBAQA4ylsaEwt6knNTseZx
SGEtb/o/f9HZ/8UKjgZl0a8cWhjrqb6n0Hgvydibn6+u4UzeXdCx9QmGik0f7cjS
Xi7BxU/VUf00pmfebi0ewsgq+TTZ8Yxr5gkKmcfIRzluJx0X9X+VDwoQKc4cOXpK
9osPotEgpqQh8wmCBWmZgj1BtPAPNlqdnDnFLpmOFk9cHGiRIFxc7JDcvJvf43z6
Zvf+LNjPMjzJxhEAZ7jPGu1hx7iY7gKkr7TeMnt31tvcvQd1ds3kI3PixuKOMjPX
oPppcaJrBIQ5CysusMs2gP8D7YSyz8nit+bBOmgeVD8c1io71yQB/dFuIvQB5x9X
os+B
-----END CERTIFICATE-----
"""
    static let privateKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCjapLO+1BkvMk1
afcimb19A0Dfo9PTgHGyMln9c5Zq9lf4bIDSC7pSR0bV6SiErciak9Kd3osFp94X
xZIF2XDjImT804l8/bJPPj7fviF17wnQ1BSjlbtCcIkfyjGWdUoZO52z5/ZflYbI
55X7bsiSt/PsdDR/Xvihm4soojUv4U6zO0qfQ6I8qXEhRmtv8YBIA/bbmayYTmU9
8Y27tk2g+VZ0Likb6Mxe7FoRdaI7FMAg+wB+S+vZqLD76VVUfcv9LxfxQaUlMO8Q
KiT5iQWrp5RXcIKV5WL+nPPgvGrHLyEu+DHYWiZ0DIH9aZb1IFGOta9iE0KOkd55
adH1oK9fAgMBAAECggEAHhhi+B59dEf2UFF3E5a3uH2wZV9xA+sMRVKTkyNF6OX8
VoJ5CPXi9wMsbvm1HhY5MwqVR8Cz3rNHKh6XIV+ltBbh/VPh5rR8Ma7XenI0DFmc
96oPMP9C0N4Tyth8YGayYkpB5V+LVpgdjgNkcj05UBfzorDV+D0f0fdo3e9dlzb9
4FmIky8rTW/5RwLhgNI02frpjAm5AsIcWnrT9/T7S9s7oHvOFsH7BfZhcPUrBdiR
AFBqvDDHpYS8LgODH03OA82ZFL/heS1I5/3/v9Y/jI4GOXBg5NNuEMQchJspAvXa
BF5JbuhXaoDGIgerHhZr/WRFigVmnm7drYpiYDPp7QKBgQDmJaGomKjD18MgrgmK
9+21lbh/ayEbDpCTlqGuzNHA0aYy6gt/adkGP/6Sy/BzUx58gL6XaKxSRIPesZEl
8Yn8VPum2GLQy0pifj8G91WHnx4qhhc26WK85dg0bTDXS4bhIoC8MdzCqdWV0lyz
KIK9GDKEblgiqOSyaZT+3ryQZQKBgQC1xfVT1CaPsLteezA5drduLB9Ljk7z1qXs
SAqOWTYexfWvjljdX6Lc2VxGyCdAw9lmYcBptTiwqfQufLRnygQFEsgApHJlkUwB
+YtWDNlOy9JvZZuijDXj7ojixdaQNBXYY2xWwM5iw7WhkH5lB4QoU0FHY54YVtL6
OtLdR3pqcwKBgQCVCJNpwQmwYJ0cIXdOhYRqTTz/ThlPExxuZmHm9v1xVpHAcKzn
YlzGXlR1LRlVJOMeDqTdGUxVrcaTQ/tRTdtkCog3n/JFcQ+HPmeEFFBPlauML+8C
gRmOZ2ydboPtNxxt19DzjXp+mEoWTfX3kmkvGGdGOMpcD3ChVBvG++exvQKBgF2f
b0NVAuOBeJAqTOVcAxBIw3mr+3hV9zHizSUSR/DDr05Tt+uVZZHwljmSv7z44tF7
yZnokCFV+AG1k0nd4AIo8UB7crxjgM2HlT+l8ItIKcPchrPLGbqjUnfSxDeTzCie
1N8+AU8XVEa54I/ythv6/aViZrxMg/AEOjVkqmWHAoGAVrvuwQeEYAirlx3MJNMh
MXaNEJje38SX61TG4tvrq2GAOXMkbYp28yBHr1Hkm3xMoNFEUqbHsCJCLGhvkDhz
m6rqRN0vn6jg2COPs7MxE1txmfWNz0iDpY6dF8FhfP8ytYkP3nie5Lon4aeiYydU
9vG01g7FmCCO5Q3qB4r8FKs=
-----END PRIVATE KEY-----
"""
}

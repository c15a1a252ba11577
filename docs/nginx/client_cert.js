// The client certificate nginx verified, as the RFC 9440 Client-Cert header: ":" + base64 DER + ":".
// nginx has no such variable of its own; $ssl_client_raw_cert is the PEM, whose body is that base64.
function rfc9440(r) {
    var pem = r.variables.ssl_client_raw_cert;
    if (!pem || r.variables.ssl_client_verify !== "SUCCESS") {
        return "";
    }
    var body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
    return ":" + body + ":";
}

export default { rfc9440 };

// Starts Swagger UI on the service's own spec. Kept out of the HTML so that a strict
// Content-Security-Policy (script-src 'self') still lets /docs run with no CDN.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null
  });
});

// Starts Swagger UI (served from /vendor/swagger-ui) on the API documentation page
// (web/api/docs_ui.py): a static file, because the pages' script policy refuses inline scripts.
(function () {
  "use strict";
  var box = document.getElementById("api-docs");
  if (!box || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({
    url: box.getAttribute("data-openapi"),
    domNode: box,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis]
  });
}());

#include <cmath>
#include "shapes.hpp"

namespace geometry {

class Circle {
public:
    explicit Circle(double r) : radius(r) {}
    double area() const;
private:
    double radius;
};

double Circle::area() const {
    return M_PI * std::pow(radius, 2);
}

}  // namespace geometry
